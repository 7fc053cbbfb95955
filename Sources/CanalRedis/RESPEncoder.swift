import NIOCore

/// Writes commands as RESP2 arrays of bulk strings, the one form Redis accepts from
/// clients besides inline commands ("Sending commands to a Redis server", RESP spec).
public enum RESPEncoder {
    /// Appends `*N` and one `$len` bulk string per argument.
    public static func encode(_ command: RedisCommand, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        buffer.writeString(String(command.arguments.count))
        buffer.writeStaticString("\r\n")
        for argument in command.arguments {
            buffer.writeInteger(UInt8(ascii: "$"))
            buffer.writeString(String(argument.readableBytes))
            buffer.writeStaticString("\r\n")
            buffer.writeImmutableBuffer(argument)
            buffer.writeStaticString("\r\n")
        }
    }

    /// Encodes any RESP2 value (for tests and fakes: servers send these).
    public static func encode(_ value: RESPValue, into buffer: inout ByteBuffer) {
        switch value {
        case .simpleString(let text):
            buffer.writeString("+\(text)\r\n")
        case .error(let text):
            buffer.writeString("-\(text)\r\n")
        case .integer(let number):
            buffer.writeString(":\(number)\r\n")
        case .bulkString(let bytes):
            buffer.writeString("$\(bytes.readableBytes)\r\n")
            buffer.writeImmutableBuffer(bytes)
            buffer.writeStaticString("\r\n")
        case .array(let values):
            buffer.writeString("*\(values.count)\r\n")
            for element in values { encode(element, into: &buffer) }
        case .null:
            buffer.writeStaticString("$-1\r\n")
        }
    }
}
