import NIOCore

/// One RESP2 value, as Redis sends it (Redis serialization protocol, "RESP protocol spec",
/// version 2): a simple string, an error, an integer, a bulk string, an array, or null.
///
/// A null bulk string (`$-1`) and a null array (`*-1`) are both `.null`: no command this
/// client sends tells them apart.
public enum RESPValue: Sendable, Hashable {
    /// `+OK`: a short status line.
    case simpleString(String)
    /// `-ERR ...`: the server refused the command. The first word is the error's kind.
    case error(String)
    /// `:42`.
    case integer(Int64)
    /// `$5\r\nhello`: binary-safe bytes.
    case bulkString(ByteBuffer)
    /// `*2\r\n...`: nested values.
    case array([RESPValue])
    /// `$-1` or `*-1`: no value (a missing key, a timed-out blocking read).
    case null

    /// The text of a simple or bulk string (bulk strings decoded as UTF-8, with
    /// replacement characters for invalid bytes).
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes): return String(buffer: bytes)
        case .error, .integer, .array, .null: return nil
        }
    }

    /// The bytes of a bulk string (or of a simple string).
    public var bytes: ByteBuffer? {
        switch self {
        case .bulkString(let bytes): return bytes
        case .simpleString(let text): return ByteBuffer(string: text)
        case .error, .integer, .array, .null: return nil
        }
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var array: [RESPValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

extension RESPValue: CustomStringConvertible {
    /// A short, log-friendly rendering (bulk strings cut at 64 bytes).
    public var description: String {
        switch self {
        case .simpleString(let text): return "+\(text)"
        case .error(let text): return "-\(text)"
        case .integer(let value): return ":\(value)"
        case .bulkString(let bytes):
            let text = String(buffer: bytes.getSlice(at: bytes.readerIndex, length: min(64, bytes.readableBytes))!)
            return bytes.readableBytes > 64 ? "\"\(text)…\"" : "\"\(text)\""
        case .array(let values): return "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .null: return "null"
        }
    }
}
