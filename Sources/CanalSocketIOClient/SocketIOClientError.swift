import CanalSocketIOCore

/// Why a client socket disconnected, named as socket.io-client names it.
public enum SocketIOClientDisconnectReason: String, Sendable, Hashable, CaseIterable {
    /// The server disconnected this socket (`socket.disconnect()` on the server).
    case ioServerDisconnect = "io server disconnect"
    /// The application disconnected it, or closed the manager.
    case ioClientDisconnect = "io client disconnect"
    /// The server sent no ping in `pingInterval + pingTimeout`.
    case pingTimeout = "ping timeout"
    /// The server closed the connection.
    case transportClose = "transport close"
    /// The connection failed or dropped.
    case transportError = "transport error"
    /// The server sent something that is not Engine.IO or Socket.IO.
    case parseError = "parse error"

    /// Whether the manager reconnects after this (socket.io-client's `socket.active`): not
    /// after a disconnect that either side chose.
    public var reconnects: Bool {
        switch self {
        case .ioServerDisconnect, .ioClientDisconnect: return false
        case .pingTimeout, .transportClose, .transportError, .parseError: return true
        }
    }
}

/// What went wrong for a client: a refused or failed connection, an acknowledgement that
/// did not come, an event that could not be sent. Refusals carry the server's data.
public struct SocketIOClientError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The URL cannot be used.
        case invalidURL
        /// The Engine.IO session could not be opened (refused, unreachable, TLS, HTTP error).
        case connectionFailed
        /// The server refused the namespace (`connect_error` from a middleware, or an
        /// unknown namespace); `data` holds what it sent.
        case refused
        /// The connection or the namespace's CONNECT was not answered in time.
        case timeout
        /// No acknowledgement within the timeout.
        case ackTimeout
        /// The socket disconnected (`reason` says why) before the operation finished.
        case disconnected
        /// The emit was dropped: the offline buffer was full, or it was volatile and the
        /// transport could not take it.
        case dropped
        /// The event name is reserved (`connect`, `connect_error`, `disconnect`, ...).
        case reservedEvent
        /// An argument could not be encoded, or an answer decoded into the type asked for.
        case coding
        /// A sequence from `events()` or `updates()` was read too slowly.
        case slowConsumer
    }

    public var kind: Kind
    /// A sentence for people.
    public var message: String
    /// With `.refused`: the `data` of the server's CONNECT_ERROR.
    public var data: SocketIOValue?
    /// With `.disconnected`: why.
    public var reason: SocketIOClientDisconnectReason?

    public init(
        _ kind: Kind, _ message: String, data: SocketIOValue? = nil, reason: SocketIOClientDisconnectReason? = nil
    ) {
        self.kind = kind
        self.message = message
        self.data = data
        self.reason = reason
    }

    public var description: String {
        guard let data else { return message }
        return "\(message) (data: \(SocketIOJSON.string(data)))"
    }

    static func disconnected(_ reason: SocketIOClientDisconnectReason) -> SocketIOClientError {
        SocketIOClientError(.disconnected, "the socket disconnected (\(reason.rawValue))", reason: reason)
    }
}
