/// Why a Redis command did not get its reply. Errors are values, as elsewhere in Canal:
/// callers decide whether to retry.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The server answered with an error reply (`-ERR ...`, `-WRONGTYPE ...`, `-NOAUTH ...`).
        case server
        /// No reply within the command timeout. If the command had been written, the
        /// connection was closed (replies come in order, so a late one cannot be matched).
        case timeout
        /// The connection was lost after the command was written: it may or may not have run.
        case connectionLost
        /// Too many commands were waiting for the server to come back.
        case queueFull
        /// The server sent something that is not RESP2; the connection was closed.
        case protocolError
        /// `close()` was called.
        case closed
        /// A reply of an unexpected shape for the helper that read it.
        case unexpectedReply
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String {
        switch kind {
        case .server: return "Redis error: \(message)"
        case .timeout: return "Redis timeout: \(message)"
        case .connectionLost: return "Redis connection lost: \(message)"
        case .queueFull: return "Redis queue full: \(message)"
        case .protocolError: return "Redis protocol error: \(message)"
        case .closed: return "Redis client closed"
        case .unexpectedReply: return "unexpected Redis reply: \(message)"
        }
    }
}
