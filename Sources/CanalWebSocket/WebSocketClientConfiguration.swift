import CanalWebSocketCore
import NIOCore
import NIOHTTP1

/// How a client connects: limits, timeouts and what it asks of the server.
public struct WebSocketClientConfiguration: Sendable {
    /// Limits of the connection (frame, message and fragment sizes).
    public var webSocket: WebSocketConfiguration
    /// Keepalive pings (off by default for clients) and the closing-handshake timeout.
    public var timeouts: WebSocketTimeouts
    /// How much `connect`'s body may send ahead of a slow server before its sends
    /// suspend. Default 1 MiB, resuming at 512 KiB.
    public var outboundBuffer: WebSocketOutboundBufferLimits
    /// TCP connect plus the opening handshake must finish within this. Default 10 s.
    public var handshakeTimeout: TimeAmount
    /// Subprotocols to offer, most preferred first.
    public var protocols: [String]
    /// Extra request headers (cookies, authorization, ...).
    public var headers: HTTPHeaders
    /// The `Origin` header to send, if any.
    public var origin: String?
    /// TLS settings for `wss://` URLs.
    public var tls: WebSocketClientTLS
    /// permessage-deflate (RFC 7692), offered to the server. On by default, as in
    /// browsers: `.balanced` offers `permessage-deflate; client_max_window_bits;
    /// client_no_context_takeover`. nil offers nothing.
    public var compression: PerMessageDeflateConfiguration?
    /// Whether `connect`'s body runs on the connection's event loop (its task prefers that
    /// loop as task executor), so that reading and sending cost no thread switch per
    /// message. On by default. Turn it off when the body blocks or computes for long
    /// between awaits: other connections of that loop would wait. A body isolated to an
    /// actor (the main actor, say) runs on that actor either way.
    public var runsOnEventLoop: Bool
    /// How many events `connect`'s inbound sequence holds, unread, before the
    /// connection stops reading from the socket; reading resumes once the body has
    /// taken all but a quarter of them. Default 64: a burst of pipelined messages then goes
    /// to the body without switching the socket's read interest off and on for each
    /// burst. (One read of the socket is always delivered whole, so the bound is this many
    /// events plus one read's worth.)
    public var inboundEventBuffer: Int

    public init(
        webSocket: WebSocketConfiguration = WebSocketConfiguration(),
        timeouts: WebSocketTimeouts = WebSocketTimeouts(keepaliveInterval: nil),
        outboundBuffer: WebSocketOutboundBufferLimits = WebSocketOutboundBufferLimits(),
        handshakeTimeout: TimeAmount = .seconds(10),
        protocols: [String] = [],
        headers: HTTPHeaders = HTTPHeaders(),
        origin: String? = nil,
        tls: WebSocketClientTLS = WebSocketClientTLS(),
        compression: PerMessageDeflateConfiguration? = .balanced,
        runsOnEventLoop: Bool = true,
        inboundEventBuffer: Int = 64
    ) {
        self.webSocket = webSocket
        self.timeouts = timeouts
        self.outboundBuffer = outboundBuffer
        self.handshakeTimeout = handshakeTimeout
        self.protocols = protocols
        self.headers = headers
        self.origin = origin
        self.tls = tls
        self.compression = compression
        self.runsOnEventLoop = runsOnEventLoop
        self.inboundEventBuffer = inboundEventBuffer
    }
}

/// Why a client could not open a connection.
public struct WebSocketClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case invalidURL
        case connectionFailed
        case handshakeTimedOut
        case handshakeFailed
        case tlsUnavailable
    }

    public var kind: Kind
    /// The HTTP status when the server answered the upgrade with something else.
    public var status: HTTPResponseStatus?
    /// The start of the response body, for error messages (at most 1 KiB).
    public var bodyExcerpt: String?
    /// The response headers when the server answered with something else than 101
    /// (`Location` of a redirect, for instance).
    public var headers: HTTPHeaders?
    public var description: String

    public init(
        _ kind: Kind,
        status: HTTPResponseStatus? = nil,
        headers: HTTPHeaders? = nil,
        bodyExcerpt: String? = nil,
        _ description: String
    ) {
        self.kind = kind
        self.status = status
        self.headers = headers
        self.bodyExcerpt = bodyExcerpt
        self.description = description
    }
}
