import CanalEngineIOCore
import CanalSocketIOCore
import NIOCore

/// A socket's connection to its namespace, as the server confirmed it.
public struct SocketIOClientConnectInfo: Sendable, Hashable {
    public let namespace: String
    /// The socket's id on the server (`socket.id`).
    public let id: String
    /// The private id the server keeps the session under, when it has connection state recovery.
    public let privateID: String?
    /// True when the server restored the earlier session (same id, rooms, missed events).
    public let recovered: Bool
    /// The Engine.IO transport in use when it connected.
    public let transport: EngineTransport
}

/// An emit that never left: it did not fit in the offline buffer, or it was volatile and
/// the socket could not send it at once.
public struct SocketIOClientDroppedEmit: Sendable, Hashable {
    public enum Reason: String, Sendable, Hashable {
        /// The offline buffer was full (see `SocketIOClientConfiguration.OfflineBuffer`).
        case offlineBufferFull = "offline buffer full"
        /// A volatile emit while not connected or while the transport was busy.
        case volatile = "volatile"
    }

    public let event: String
    public let arguments: [SocketIOValue]
    public let reason: Reason
}

/// Everything that happens to a client socket, in order: what `updates()` yields.
public enum SocketIOClientUpdate: Sendable {
    /// The namespace accepted the socket (first time, or after a reconnection).
    case connected(SocketIOClientConnectInfo)
    /// The socket could not connect: the server refused it (`.refused`, with its data), the
    /// connection failed (`.connectionFailed`), or nobody answered (`.timeout`);
    /// `willRetry` says whether the manager tries again.
    case connectError(SocketIOClientError, willRetry: Bool)
    case event(SocketIOClientEvent)
    /// The socket lost its namespace; `willReconnect` says whether the manager tries again;
    /// `detail` says what failed, when the connection failed.
    case disconnected(SocketIOClientDisconnectReason, willReconnect: Bool, detail: String?)
    /// The manager tries again after `delay` (attempt 1, 2, ... since the last success).
    case reconnecting(attempt: Int, delay: TimeAmount)
    /// The manager gave up after `attempts` attempts.
    case reconnectFailed(attempts: Int)
    /// The connection moved to another transport (polling to WebSocket).
    case upgraded(EngineTransport)
    case dropped(SocketIOClientDroppedEmit)
}
