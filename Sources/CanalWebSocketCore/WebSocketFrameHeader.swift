import NIOCore

/// The fixed part of a frame: flags, opcode, mask and payload length (RFC 6455 §5.2).
public struct WebSocketFrameHeader: Sendable, Hashable {
    public var fin: Bool
    /// RSV1-RSV3 in their wire positions (0x40, 0x20, 0x10).
    public var reservedBits: UInt8
    public var opcode: WebSocketOpcode
    public var maskingKey: WebSocketMaskingKey?
    public var payloadLength: Int

    public init(
        fin: Bool = true,
        reservedBits: UInt8 = 0,
        opcode: WebSocketOpcode,
        maskingKey: WebSocketMaskingKey? = nil,
        payloadLength: Int
    ) {
        self.fin = fin
        self.reservedBits = reservedBits
        self.opcode = opcode
        self.maskingKey = maskingKey
        self.payloadLength = payloadLength
    }

    /// RSV1, which permessage-deflate uses to mark a compressed message (RFC 7692 §6).
    public static let rsv1: UInt8 = 0x40

    /// The bytes this header occupies on the wire.
    public var encodedLength: Int {
        var length = 2
        if payloadLength > 0xFFFF {
            length += 8
        } else if payloadLength > 125 {
            length += 2
        }
        if maskingKey != nil { length += 4 }
        return length
    }

    /// Outcome of reading a header from the front of some bytes.
    enum DecodeResult {
        case header(WebSocketFrameHeader, length: Int)
        case needMoreBytes
        case lengthTooLarge
    }

    /// Reads a header from the front of `bytes` without consuming anything.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> DecodeResult {
        guard bytes.count >= 2 else { return .needMoreBytes }
        let first = bytes[0]
        let second = bytes[1]
        let masked = second & 0x80 != 0
        var length = Int(second & 0x7F)
        var offset = 2
        switch length {
        case 126:
            guard bytes.count >= 4 else { return .needMoreBytes }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            offset = 4
        case 127:
            guard bytes.count >= 10 else { return .needMoreBytes }
            var value: UInt64 = 0
            for index in 2..<10 { value = value << 8 | UInt64(bytes[index]) }
            // RFC 6455 §5.2: the most significant bit of a 64-bit length must be 0.
            guard value & (1 << 63) == 0, value <= UInt64(Int.max) else { return .lengthTooLarge }
            length = Int(value)
            offset = 10
        default:
            break
        }
        var key: WebSocketMaskingKey?
        if masked {
            guard bytes.count >= offset + 4 else { return .needMoreBytes }
            key = WebSocketMaskingKey(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3])
            offset += 4
        }
        let header = WebSocketFrameHeader(
            fin: first & 0x80 != 0,
            reservedBits: first & 0x70,
            opcode: WebSocketOpcode(rawValue: first & 0x0F)!,
            maskingKey: key,
            payloadLength: length
        )
        return .header(header, length: offset)
    }

    /// Appends the header to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        let first = (fin ? 0x80 : 0) | reservedBits & 0x70 | opcode.rawValue
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        if payloadLength <= 125 {
            buffer.writeMultipleIntegers(first, maskBit | UInt8(payloadLength))
        } else if payloadLength <= 0xFFFF {
            buffer.writeMultipleIntegers(first, maskBit | 126, UInt16(payloadLength))
        } else {
            buffer.writeMultipleIntegers(first, maskBit | 127, UInt64(payloadLength))
        }
        if let key = maskingKey {
            buffer.writeMultipleIntegers(key.bytes.0, key.bytes.1, key.bytes.2, key.bytes.3)
        }
    }
}

extension WebSocketFrameHeader {
    /// Appends a whole frame: the header, then `payload` masked with the header's key if any.
    public static func writeFrame(
        to buffer: inout ByteBuffer,
        fin: Bool = true,
        reservedBits: UInt8 = 0,
        opcode: WebSocketOpcode,
        maskingKey: WebSocketMaskingKey?,
        payload: ByteBuffer
    ) {
        let header = WebSocketFrameHeader(
            fin: fin,
            reservedBits: reservedBits,
            opcode: opcode,
            maskingKey: maskingKey,
            payloadLength: payload.readableBytes
        )
        buffer.reserveCapacity(minimumWritableBytes: header.encodedLength + payload.readableBytes)
        header.write(to: &buffer)
        guard let key = maskingKey else {
            buffer.writeImmutableBuffer(payload)
            return
        }
        let offset = buffer.writerIndex - buffer.readerIndex
        buffer.writeImmutableBuffer(payload)
        buffer.withUnsafeMutableReadableBytes { bytes in
            key.apply(to: UnsafeMutableRawBufferPointer(rebasing: bytes[offset...]))
        }
    }
}
