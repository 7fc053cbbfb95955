import CompressNIO
import NIOCore
import NIOHTTP1
import Testing

@testable import CanalWebSocketCompression
@testable import CanalWebSocketCore

// Helpers for the permessage-deflate tests: hex fixtures, frames written by hand, raw
// deflate made with zlib directly (not with the code under test), and endpoints.

/// The bytes spelled by `text` in hex; spaces are ignored.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace })
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

extension ByteBuffer {
    var bytes: [UInt8] { Array(readableBytesView) }
}

/// The extension elements of a header value, as the handshake parses them.
func offers(_ header: String) -> [WebSocketExtensionOffer] {
    var headers = HTTPHeaders()
    headers.add(name: "Sec-WebSocket-Extensions", value: header)
    return WebSocketExtensionOffer.parse(headers)!
}

func element(_ header: String) -> WebSocketExtensionOffer {
    let parsed = offers(header)
    precondition(parsed.count == 1)
    return parsed[0]
}

let testMask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]

/// One frame written by hand (RFC 6455 §5.2); `mask` for client frames.
func frame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv1: Bool = false, masked: Bool) -> [UInt8] {
    var bytes: [UInt8] = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode]
    let maskBit: UInt8 = masked ? 0x80 : 0
    if payload.count <= 125 {
        bytes.append(maskBit | UInt8(payload.count))
    } else if payload.count <= 0xFFFF {
        bytes += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    } else {
        bytes.append(maskBit | 127)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: payload.count >> shift))
        }
    }
    if masked {
        bytes += testMask
        bytes += payload.enumerated().map { $0.element ^ testMask[$0.offset % 4] }
    } else {
        bytes += payload
    }
    return bytes
}

let opText: UInt8 = 0x1
let opBinary: UInt8 = 0x2
let opContinuation: UInt8 = 0x0
let opClose: UInt8 = 0x8
let opPing: UInt8 = 0x9

/// Raw deflate of `bytes` with a sync flush, trailing `00 00 FF FF` removed, made with zlib
/// directly (RFC 7692 §7.2.1).
func rawDeflate(_ bytes: [UInt8], windowBits: Int32 = 15) -> [UInt8] {
    let compressor = try! ZlibCompressor(
        algorithm: .deflate,
        configuration: ZlibConfiguration(
            windowSize: windowBits,
            compressionLevel: 6,
            memoryLevel: 8,
            strategy: .default
        )
    )
    var input = ByteBuffer(bytes: bytes.isEmpty ? [0] : bytes)
    if bytes.isEmpty { input.moveReaderIndex(forwardBy: 1) }
    var output = ByteBuffer()
    output.reserveCapacity(compressor.maxSize(from: input) + 64)
    try! compressor.deflate(from: &input, to: &output, flush: .sync)
    let all = output.bytes
    precondition(Array(all.suffix(4)) == [0x00, 0x00, 0xFF, 0xFF])
    return Array(all.dropLast(4))
}

/// Raw inflate of a message as sent (tail put back), with zlib directly.
func rawInflate(_ bytes: [UInt8], windowBits: Int32 = 15) -> [UInt8] {
    let decompressor = try! ZlibDecompressor(algorithm: .deflate, windowSize: windowBits)
    var input = ByteBuffer(bytes: bytes + [0x00, 0x00, 0xFF, 0xFF])
    var output = ByteBuffer()
    output.reserveCapacity(1 << 20)
    do {
        try decompressor.inflate(from: &input, to: &output)
    } catch let error as CompressNIOError where error == .inputBufferOverflow {
    } catch {
        Issue.record("inflate failed: \(error)")
    }
    return output.bytes
}

/// An endpoint with permessage-deflate as a server or client would negotiate it.
func deflateEndpoint(
    _ role: WebSocketRole,
    offer: String = "permessage-deflate; client_max_window_bits",
    configuration: PerMessageDeflateConfiguration = .balanced,
    limits: WebSocketConfiguration = WebSocketConfiguration()
) -> (WebSocketConnection, PerMessageDeflateExtension) {
    let agreement: PerMessageDeflateAgreement
    switch role {
    case .server:
        agreement = PerMessageDeflate.negotiate(offers: offers(offer), configuration: configuration)!
    case .client:
        let sent = PerMessageDeflate.offer(configuration: configuration)
        agreement = try! PerMessageDeflate.accept(offers(offer), offered: sent, configuration: configuration).get()!
    }
    let codec = agreement.makeExtension()
    let connection = WebSocketConnection(
        role: role,
        configuration: limits,
        extensions: [codec],
        maskingKeys: { WebSocketMaskingKey(0x37, 0xFA, 0x21, 0x3D) }
    )
    return (connection, codec)
}

extension WebSocketConnection {
    mutating func drainEvents() -> [WebSocketEvent] {
        var events: [WebSocketEvent] = []
        while let event = nextEvent() { events.append(event) }
        return events
    }

    /// Every byte queued for sending, concatenated.
    mutating func drainBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        while let output = nextOutput() {
            if case .bytes(let buffer) = output { bytes += buffer.bytes }
        }
        return bytes
    }

    /// Feeds `bytes` whole, or one byte at a time, and returns the events.
    mutating func feed(_ bytes: [UInt8], byteByByte: Bool = false) -> [WebSocketEvent] {
        var events: [WebSocketEvent] = []
        if byteByByte {
            for byte in bytes {
                receive(ByteBuffer(bytes: [byte]))
                while let event = nextEvent() { events.append(event) }
            }
        } else {
            receive(ByteBuffer(bytes: bytes))
            while let event = nextEvent() { events.append(event) }
        }
        return events
    }
}

/// The close code a failed endpoint sent first, if it sent a close frame (servers' frames are unmasked).
func closeCode(inServerOutput bytes: [UInt8]) -> UInt16? {
    var index = 0
    while index + 2 <= bytes.count {
        let opcode = bytes[index] & 0x0F
        var length = Int(bytes[index + 1] & 0x7F)
        var offset = index + 2
        if length == 126 {
            length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
            offset += 2
        } else if length == 127 {
            length = bytes[offset..<offset + 8].reduce(0) { $0 << 8 | Int($1) }
            offset += 8
        }
        if opcode == opClose, length >= 2 { return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }
        index = offset + length
    }
    return nil
}

/// The frames in unmasked output: (fin, rsv1, opcode, payload).
func parseFrames(_ bytes: [UInt8]) -> [(fin: Bool, rsv1: Bool, opcode: UInt8, payload: [UInt8])] {
    var frames: [(fin: Bool, rsv1: Bool, opcode: UInt8, payload: [UInt8])] = []
    var index = 0
    while index + 2 <= bytes.count {
        let first = bytes[index]
        let masked = bytes[index + 1] & 0x80 != 0
        var length = Int(bytes[index + 1] & 0x7F)
        var offset = index + 2
        if length == 126 {
            length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
            offset += 2
        } else if length == 127 {
            length = bytes[offset..<offset + 8].reduce(0) { $0 << 8 | Int($1) }
            offset += 8
        }
        var key: [UInt8] = []
        if masked {
            key = Array(bytes[offset..<offset + 4])
            offset += 4
        }
        var payload = Array(bytes[offset..<offset + length])
        if masked { payload = payload.enumerated().map { $0.element ^ key[$0.offset % 4] } }
        frames.append((first & 0x80 != 0, first & 0x40 != 0, first & 0x0F, payload))
        index = offset + length
    }
    return frames
}
