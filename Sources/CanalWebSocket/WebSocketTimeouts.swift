import NIOCore

/// Timing of a connection: keepalive pings and how long to wait for the closing handshake.
public struct WebSocketTimeouts: Sendable, Hashable {
    /// Send a ping after this long (and again this long after each ping whose pong came
    /// back). `nil` turns keepalive off. Default 20 s, as python `websockets`.
    public var keepaliveInterval: TimeAmount?
    /// Close with 1011 when the pong of a keepalive ping has not come back this long after
    /// the ping. Only a pong with the ping's payload counts (RFC 6455 §5.5.3). Default 20 s.
    public var keepaliveTimeout: TimeAmount
    /// How long to wait for the peer's close frame, then for the transport to end, before
    /// dropping the connection. Default 10 s.
    public var closeTimeout: TimeAmount

    public init(
        keepaliveInterval: TimeAmount? = .seconds(20),
        keepaliveTimeout: TimeAmount = .seconds(20),
        closeTimeout: TimeAmount = .seconds(10)
    ) {
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveTimeout = keepaliveTimeout
        self.closeTimeout = closeTimeout
    }
}
