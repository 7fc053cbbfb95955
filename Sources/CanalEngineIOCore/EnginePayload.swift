import NIOCore

/// The body of a long-polling request or response: packets joined by the record separator
/// 0x1e, binary packets as `b` followed by their base64 (Engine.IO v4).
public enum EnginePayload {
    public static let separator: UInt8 = 0x1E

    /// Joins packets into one polling body.
    public static func encode(_ packets: [EnginePacket], allocator: ByteBufferAllocator = ByteBufferAllocator())
        -> ByteBuffer
    {
        var size = 0
        for packet in packets { size += packet.data.readableBytes * (packet.isBinary ? 4 : 3) / 3 + 4 }
        var buffer = allocator.buffer(capacity: size)
        for (index, packet) in packets.enumerated() {
            if index > 0 { buffer.writeInteger(separator) }
            if packet.isBinary {
                buffer.writeInteger(UInt8(ascii: "b"))
                Base64.encode(packet.data.readableBytesView, into: &buffer)
            } else {
                buffer.writeInteger(packet.type.digit)
                buffer.writeImmutableBuffer(packet.data)
            }
        }
        return buffer
    }

    /// Splits a polling body into packets. Any packet that does not parse fails the whole
    /// body, as the official server closes the session with "parse error" then.
    public static func decode(_ body: ByteBuffer) throws(EngineDecodingError) -> [EnginePacket] {
        var packets: [EnginePacket] = []
        let bytes = body.readableBytesView
        var start = bytes.startIndex
        while true {
            let end = bytes[start...].firstIndex(of: separator) ?? bytes.endIndex
            let offset = start - bytes.startIndex
            let part = body.getSlice(at: body.readerIndex + offset, length: end - start)!
            packets.append(try decodePacket(part))
            guard end < bytes.endIndex else { break }
            start = end + 1
        }
        return packets
    }

    static func decodePacket(_ part: ByteBuffer) throws(EngineDecodingError) -> EnginePacket {
        guard let first = part.readableBytesView.first else { throw .empty }
        if first == UInt8(ascii: "b") {
            guard let data = Base64.decode(part.readableBytesView.dropFirst()) else { throw .invalidBase64 }
            return EnginePacket(.message, data: data, isBinary: true)
        }
        return try EnginePacket.decode(webSocketText: part)
    }
}

/// Base64 (RFC 4648 §4, with padding) for binary packets in polling payloads.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    static func encode<Bytes: Collection>(_ bytes: Bytes, into buffer: inout ByteBuffer) where Bytes.Element == UInt8 {
        var iterator = bytes.makeIterator()
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        while let a = iterator.next() {
            let b = iterator.next()
            let c = iterator.next()
            out.append(alphabet[Int(a >> 2)])
            out.append(alphabet[Int((a & 0x03) << 4 | (b ?? 0) >> 4)])
            out.append(b.map { alphabet[Int(($0 & 0x0F) << 2 | (c ?? 0) >> 6)] } ?? UInt8(ascii: "="))
            out.append(c.map { alphabet[Int($0 & 0x3F)] } ?? UInt8(ascii: "="))
        }
        buffer.writeBytes(out)
    }

    /// Nil unless `text` is canonical base64 with padding (length a multiple of 4).
    static func decode<Text: Collection>(_ text: Text) -> ByteBuffer? where Text.Element == UInt8 {
        guard text.count % 4 == 0 else { return nil }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(text.count / 4 * 3)
        var quad: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        var index = 0
        var padding = 0
        let total = text.count
        for byte in text {
            var value: UInt8
            if byte == UInt8(ascii: "=") {
                // Padding only in the last two places.
                guard index % 4 >= 2, total - (index - index % 4) == 4 else { return nil }
                padding += 1
                value = 0
            } else {
                guard padding == 0 else { return nil }
                value = reverse[Int(byte)]
                guard value != 0xFF else { return nil }
            }
            switch index % 4 {
            case 0: quad.0 = value
            case 1: quad.1 = value
            case 2: quad.2 = value
            default:
                quad.3 = value
                buffer.writeInteger(quad.0 << 2 | quad.1 >> 4)
                if padding < 2 { buffer.writeInteger(quad.1 << 4 | quad.2 >> 2) }
                if padding < 1 { buffer.writeInteger(quad.2 << 6 | quad.3) }
            }
            index += 1
        }
        return buffer
    }
}
