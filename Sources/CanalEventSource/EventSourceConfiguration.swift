import CanalSSECore
import NIOCore
import NIOHTTP1
import NIOSSL

/// Settings of an `EventSource`. The defaults behave like a browser's `EventSource`:
/// reconnect after 3 s (or the server's `retry`) for as long as it takes.
public struct EventSourceConfiguration: Sendable {
    /// Extra request headers (`Authorization`, cookies). `Accept`, `Cache-Control`, `Host`
    /// and `Last-Event-ID` are set for you.
    public var headers: HTTPHeaders
    /// Sent as `Last-Event-ID` on the first connection, to resume a stream read earlier.
    public var lastEventID: String?
    /// The wait before reconnecting until the server sends `retry:`. Default 3 s.
    public var reconnectionTime: Duration
    /// Reconnect when the stream ends or the connection fails. Default true.
    public var reconnects: Bool
    /// Give up after this many attempts in a row that did not open a stream (nil: never).
    /// Each failed attempt doubles the wait, up to `maxReconnectionTime`.
    public var maxReconnects: Int?
    /// The longest wait between attempts. Default 30 s.
    public var maxReconnectionTime: Duration
    /// TCP connect timeout. Default 10 s.
    public var connectTimeout: TimeAmount
    /// A stream that delivers no byte (not even a heartbeat comment) for this long is taken
    /// for dead and reconnected. nil waits for ever. Default 60 s (servers that send
    /// heartbeats send them every 15 to 30 s).
    public var readTimeout: TimeAmount?
    /// Limits on what the server sends (the largest event).
    public var limits: ServerSentEventParser.Limits
    /// TLS for `https://` URLs; nil uses the system's trust roots with full verification.
    public var tls: TLSConfiguration?

    public init(
        headers: HTTPHeaders = HTTPHeaders(),
        lastEventID: String? = nil,
        reconnectionTime: Duration = .seconds(3),
        reconnects: Bool = true,
        maxReconnects: Int? = nil,
        maxReconnectionTime: Duration = .seconds(30),
        connectTimeout: TimeAmount = .seconds(10),
        readTimeout: TimeAmount? = .seconds(60),
        limits: ServerSentEventParser.Limits = .init(),
        tls: TLSConfiguration? = nil
    ) {
        self.headers = headers
        self.lastEventID = lastEventID
        self.reconnectionTime = reconnectionTime
        self.reconnects = reconnects
        self.maxReconnects = maxReconnects
        self.maxReconnectionTime = maxReconnectionTime
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.limits = limits
        self.tls = tls
    }
}
