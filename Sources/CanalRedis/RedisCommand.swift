import NIOCore

/// A Redis command: its name and arguments, each sent as a binary-safe bulk string.
///
/// ```swift
/// let command: RedisCommand = ["SET", "greeting", "hello", "PX", "5000"]
/// let xadd = RedisCommand("XADD", "stream", "*").appending("data", payloadBytes)
/// ```
public struct RedisCommand: Sendable, Hashable, ExpressibleByArrayLiteral, CustomStringConvertible {
    public var arguments: [ByteBuffer]

    public init(arguments: [ByteBuffer]) {
        self.arguments = arguments
    }

    public init(_ words: String...) {
        self.arguments = words.map { ByteBuffer(string: $0) }
    }

    public init(arrayLiteral words: String...) {
        self.arguments = words.map { ByteBuffer(string: $0) }
    }

    /// The command name, upper-cased.
    public var name: String { arguments.first.map { String(buffer: $0).uppercased() } ?? "" }

    public func appending(_ words: String...) -> RedisCommand {
        var copy = self
        copy.arguments.append(contentsOf: words.map { ByteBuffer(string: $0) })
        return copy
    }

    public func appending(_ key: String, _ value: ByteBuffer) -> RedisCommand {
        var copy = self
        copy.arguments.append(ByteBuffer(string: key))
        copy.arguments.append(value)
        return copy
    }

    public mutating func append(_ word: String) { arguments.append(ByteBuffer(string: word)) }
    public mutating func append(_ bytes: ByteBuffer) { arguments.append(bytes) }
    public mutating func append(_ number: Int) { arguments.append(ByteBuffer(string: String(number))) }

    /// The name and the first arguments, for logs (values may be secrets: AUTH is masked).
    public var description: String {
        if name == "AUTH" { return "AUTH ***" }
        let shown = arguments.prefix(4).map { bytes -> String in
            let text = String(buffer: bytes.getSlice(at: bytes.readerIndex, length: min(32, bytes.readableBytes))!)
            return bytes.readableBytes > 32 ? text + "…" : text
        }
        return shown.joined(separator: " ") + (arguments.count > 4 ? " …" : "")
    }
}
