/// The four-bit opcode of a WebSocket frame (RFC 6455 §5.2).
///
/// Reserved opcodes can be represented so that a parser can report them, but an
/// endpoint never sends them.
public struct WebSocketOpcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8

    /// Creates an opcode from the low four bits of `rawValue`; returns `nil` above 15.
    public init?(rawValue: UInt8) {
        guard rawValue < 16 else { return nil }
        self.rawValue = rawValue
    }

    private init(uncheckedRawValue: UInt8) {
        self.rawValue = uncheckedRawValue
    }

    public static let continuation = WebSocketOpcode(uncheckedRawValue: 0x0)
    public static let text = WebSocketOpcode(uncheckedRawValue: 0x1)
    public static let binary = WebSocketOpcode(uncheckedRawValue: 0x2)
    public static let close = WebSocketOpcode(uncheckedRawValue: 0x8)
    public static let ping = WebSocketOpcode(uncheckedRawValue: 0x9)
    public static let pong = WebSocketOpcode(uncheckedRawValue: 0xA)

    /// Control frames have the high bit of the opcode set (RFC 6455 §5.5).
    public var isControl: Bool { rawValue & 0x8 != 0 }

    /// Opcodes 0x3-0x7 and 0xB-0xF are reserved for future use (RFC 6455 §5.2).
    public var isReserved: Bool {
        switch rawValue {
        case 0x0, 0x1, 0x2, 0x8, 0x9, 0xA: return false
        default: return true
        }
    }

    public var description: String {
        switch rawValue {
        case 0x0: return "continuation"
        case 0x1: return "text"
        case 0x2: return "binary"
        case 0x8: return "close"
        case 0x9: return "ping"
        case 0xA: return "pong"
        default: return "reserved(0x\(String(rawValue, radix: 16)))"
        }
    }
}
