import NIOCore

/// The seven Engine.IO v4 packet types, by their digit on the wire.
public enum EnginePacketType: UInt8, Sendable, Hashable, CaseIterable {
    case open = 0
    case close = 1
    case ping = 2
    case pong = 3
    case message = 4
    case upgrade = 5
    case noop = 6

    /// The ASCII digit that starts the packet's text form.
    public var digit: UInt8 { UInt8(ascii: "0") + rawValue }

    init?(digit: UInt8) {
        guard digit >= UInt8(ascii: "0") else { return nil }
        self.init(rawValue: digit - UInt8(ascii: "0"))
    }
}

/// One Engine.IO packet: a type and its data, text or binary.
///
/// Binary data travels only in `message` packets: as a binary WebSocket frame, or as
/// `b` + base64 in a polling payload.
public struct EnginePacket: Sendable, Hashable, CustomStringConvertible {
    public var type: EnginePacketType
    /// The packet's data: UTF-8 text after the type digit, or the bytes of a binary message.
    public var data: ByteBuffer
    public var isBinary: Bool

    public init(_ type: EnginePacketType, data: ByteBuffer = ByteBuffer(), isBinary: Bool = false) {
        self.type = type
        self.data = data
        self.isBinary = isBinary
    }

    public init(_ type: EnginePacketType, text: String) {
        self.init(type, data: ByteBuffer(string: text))
    }

    /// A `message` packet carrying application data.
    public static func message(_ message: EngineMessage) -> EnginePacket {
        EnginePacket(.message, data: message.data, isBinary: message.isBinary)
    }

    public static let ping = EnginePacket(.ping)
    public static let pong = EnginePacket(.pong)
    public static let noop = EnginePacket(.noop)
    public static let close = EnginePacket(.close)
    public static let probePing = EnginePacket(.ping, text: "probe")
    public static let probePong = EnginePacket(.pong, text: "probe")

    /// True for `2probe` and `3probe`, the packets of the transport upgrade.
    public var isProbe: Bool {
        !isBinary && data.readableBytesView.elementsEqual("probe".utf8)
    }

    public var description: String {
        if isBinary { return "binary(\(data.readableBytes) bytes)" }
        return "\(type.rawValue)\(String(buffer: data).prefix(80))"
    }

    // MARK: One packet per WebSocket message

    /// Decodes the packet of one WebSocket message: a text frame is a digit and text; a
    /// binary frame is a binary `message`.
    public static func decode(webSocketText text: ByteBuffer) throws(EngineDecodingError) -> EnginePacket {
        guard let first = text.readableBytesView.first else { throw .empty }
        guard let type = EnginePacketType(digit: first) else { throw .unknownType(first) }
        return EnginePacket(type, data: text.getSlice(at: text.readerIndex + 1, length: text.readableBytes - 1)!)
    }

    public static func decode(webSocketBinary data: ByteBuffer) -> EnginePacket {
        EnginePacket(.message, data: data, isBinary: true)
    }

    /// The text of this packet as one WebSocket text frame (binary packets are sent as they are).
    public func webSocketText(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: data.readableBytes + 1)
        buffer.writeInteger(type.digit)
        buffer.writeImmutableBuffer(data)
        return buffer
    }
}

/// Application data carried by an Engine.IO `message` packet.
public enum EngineMessage: Sendable, Hashable, CustomStringConvertible {
    /// UTF-8 text.
    case text(ByteBuffer)
    case binary(ByteBuffer)

    public static func text(_ string: String) -> EngineMessage { .text(ByteBuffer(string: string)) }

    public var data: ByteBuffer {
        switch self {
        case .text(let data), .binary(let data): return data
        }
    }

    public var isBinary: Bool {
        if case .binary = self { return true }
        return false
    }

    /// The text, for text messages.
    public var string: String? {
        if case .text(let data) = self { return String(buffer: data) }
        return nil
    }

    public var description: String {
        switch self {
        case .text(let data): return "text(\(String(buffer: data).prefix(80)))"
        case .binary(let data): return "binary(\(data.readableBytes) bytes)"
        }
    }
}

/// Why bytes from a peer are not Engine.IO packets. The session closes with "parse error".
public enum EngineDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    case unknownType(UInt8)
    case invalidBase64
    case payloadTooLarge

    public var description: String {
        switch self {
        case .empty: return "empty packet"
        case .unknownType(let byte): return "unknown packet type \(byte)"
        case .invalidBase64: return "invalid base64 in a binary packet"
        case .payloadTooLarge: return "payload over maxHttpBufferSize"
        }
    }
}
