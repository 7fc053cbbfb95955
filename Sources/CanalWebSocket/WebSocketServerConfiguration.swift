// The compression settings are part of this module's API.
@_exported import CanalWebSocketCompression
import CanalWebSocketCore
import NIOCore
import NIOHTTP1

/// What applies to each WebSocket connection a server upgrades, whichever server it is:
/// limits, keepalive and close timeouts, the outbound buffer of async handlers, and
/// compression. `WebSocketServer` and CanalHTTP's `HTTPServer` both take it (the server's
/// own listening and HTTP settings live in their own configurations), as does
/// `WebSocketUpgrader` for servers of your own.
public struct WebSocketConnectionConfiguration: Sendable {
    /// Limits of each WebSocket connection (frame, message and fragment sizes).
    public var webSocket: WebSocketConfiguration
    /// Keepalive pings and the closing-handshake timeout.
    public var timeouts: WebSocketTimeouts
    /// How much an `.async` handler may send ahead of a slow reader before its sends
    /// suspend. Default 1 MiB, resuming at 512 KiB.
    public var outboundBuffer: WebSocketOutboundBufferLimits
    /// permessage-deflate (RFC 7692), accepted when a client offers it. Off (nil) by
    /// default, as in `ws`, uWebSockets and Socket.IO: compression trades CPU and memory
    /// per connection for bandwidth, which only some applications want. Set it to
    /// `.balanced` (or another preset) to turn it on; decompressed messages still count
    /// against `webSocket.maxMessageSize`.
    public var compression: PerMessageDeflateConfiguration?
    /// Whether an `.async` handler runs on its connection's event loop (its task prefers
    /// that loop as task executor). On by default: reading and sending then cost no thread
    /// switch per message. Turn it off when handlers block or compute for long between
    /// awaits, which would hold up the other connections of the loop; they then run on
    /// Swift's global executor. Code isolated to an actor runs on that actor either way.
    public var runsAsyncHandlersOnEventLoop: Bool
    /// How many events an async handler's inbound sequence holds, unread, before the
    /// connection stops reading from the socket; reading resumes once the handler has
    /// taken all but a quarter of them. Default 64: a burst of pipelined messages then goes
    /// to the handler without switching the socket's read interest off and on for each
    /// burst. (One read of the socket is always delivered whole, so the bound is this many
    /// events plus one read's worth.)
    public var inboundEventBuffer: Int

    public init(
        webSocket: WebSocketConfiguration = WebSocketConfiguration(),
        timeouts: WebSocketTimeouts = WebSocketTimeouts(),
        outboundBuffer: WebSocketOutboundBufferLimits = WebSocketOutboundBufferLimits(),
        compression: PerMessageDeflateConfiguration? = nil,
        runsAsyncHandlersOnEventLoop: Bool = true,
        inboundEventBuffer: Int = 64
    ) {
        self.webSocket = webSocket
        self.timeouts = timeouts
        self.outboundBuffer = outboundBuffer
        self.compression = compression
        self.runsAsyncHandlersOnEventLoop = runsAsyncHandlersOnEventLoop
        self.inboundEventBuffer = inboundEventBuffer
    }
}

/// Everything a `WebSocketServer` can be tuned with. The defaults suit a public server.
///
/// `connection` is what each upgraded connection gets; its fields can be reached directly
/// (`configuration.webSocket.maxMessageSize`). The rest is the server's own: CanalHTTP's
/// `HTTPServer` has its own head timeout, shutdown timeout and backlog.
public struct WebSocketServerConfiguration: Sendable {
    /// What applies to each upgraded connection.
    public var connection: WebSocketConnectionConfiguration
    /// A connection must deliver a complete request head within this time, or it is
    /// closed. This also bounds idle keep-alive HTTP connections. Default 10 s.
    public var requestHeadTimeout: TimeAmount
    /// How long `shutdown` waits for connections to finish before closing them. Default 10 s.
    public var shutdownTimeout: TimeAmount
    /// The listen backlog. Default 1024.
    public var backlog: Int32

    /// Limits of each WebSocket connection (frame, message and fragment sizes).
    public var webSocket: WebSocketConfiguration {
        get { connection.webSocket }
        set { connection.webSocket = newValue }
    }
    /// Keepalive pings and the closing-handshake timeout.
    public var timeouts: WebSocketTimeouts {
        get { connection.timeouts }
        set { connection.timeouts = newValue }
    }
    /// See `WebSocketConnectionConfiguration.outboundBuffer`.
    public var outboundBuffer: WebSocketOutboundBufferLimits {
        get { connection.outboundBuffer }
        set { connection.outboundBuffer = newValue }
    }
    /// See `WebSocketConnectionConfiguration.compression`. Off by default.
    public var compression: PerMessageDeflateConfiguration? {
        get { connection.compression }
        set { connection.compression = newValue }
    }
    /// See `WebSocketConnectionConfiguration.runsAsyncHandlersOnEventLoop`. On by default.
    public var runsAsyncHandlersOnEventLoop: Bool {
        get { connection.runsAsyncHandlersOnEventLoop }
        set { connection.runsAsyncHandlersOnEventLoop = newValue }
    }
    /// See `WebSocketConnectionConfiguration.inboundEventBuffer`. Default 64.
    public var inboundEventBuffer: Int {
        get { connection.inboundEventBuffer }
        set { connection.inboundEventBuffer = newValue }
    }

    public init(
        webSocket: WebSocketConfiguration = WebSocketConfiguration(),
        timeouts: WebSocketTimeouts = WebSocketTimeouts(),
        outboundBuffer: WebSocketOutboundBufferLimits = WebSocketOutboundBufferLimits(),
        requestHeadTimeout: TimeAmount = .seconds(10),
        shutdownTimeout: TimeAmount = .seconds(10),
        backlog: Int32 = 1024,
        compression: PerMessageDeflateConfiguration? = nil
    ) {
        self.connection = WebSocketConnectionConfiguration(
            webSocket: webSocket,
            timeouts: timeouts,
            outboundBuffer: outboundBuffer,
            compression: compression
        )
        self.requestHeadTimeout = requestHeadTimeout
        self.shutdownTimeout = shutdownTimeout
        self.backlog = backlog
    }
}

/// The application's answer to an upgrade request.
public enum WebSocketUpgradeDecision: Sendable {
    /// Upgrade, optionally selecting one of the offered subprotocols and adding headers.
    case accept(subprotocol: String? = nil, headers: HTTPHeaders = HTTPHeaders())
    /// Refuse with any status, headers and body.
    case reject(WebSocketHandshakeRejection)

    public static let accept = WebSocketUpgradeDecision.accept()
}

/// How a server talks to each accepted connection.
public enum WebSocketServerHandler: Sendable {
    /// Closure-scoped and async: the closure gets the inbound events and an outbound
    /// writer; when it returns the server completes the closing handshake (1000, or 1011
    /// if it threw). Each connection runs in a child task of `WebSocketServer.run()`.
    case async(@Sendable (WebSocketInbound, WebSocketOutbound, WebSocketContext) async throws -> Void)
    /// Callbacks on the connection's event loop, with no task hops: the fastest path, for
    /// echo, fan-out and relays. The closure runs once per connection, on its event loop,
    /// and returns the callback that receives its events.
    case eventLoop(@Sendable (WebSocketUpgradeRequest) -> WebSocketChannelHandler.EventCallback)
    /// `.eventLoop` for servers that also send on their own initiative (heartbeats, pushes,
    /// broadcasts): the closure gets the connection's socket as well, valid on the channel's
    /// event loop until the `.closed` event. Engine.IO's WebSocket transport uses it.
    case eventLoopWithSocket(
        @Sendable (WebSocketUpgradeRequest, WebSocketLoopSocket) -> WebSocketChannelHandler.EventCallback
    )
}

/// What an async handler knows about its connection.
public struct WebSocketContext: Sendable {
    /// The upgrade request (path, headers, origin, chosen subprotocol's offers).
    public let request: WebSocketUpgradeRequest?
    /// The subprotocol in use, if any.
    public let subprotocol: String?
    public let channel: Channel
    /// Completes with the close status when the connection is over.
    public let closed: EventLoopFuture<WebSocketCloseStatus>
}
