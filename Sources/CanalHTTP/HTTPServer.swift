import CanalWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// An HTTP/1.1 server with routes, a static folder and WebSocket endpoints on one port,
/// over plain TCP or TLS (`https://` and `wss://`).
///
/// ```swift
/// var router = HTTPRouter()
/// router.get("/") { _ in .html("<h1>Welcome</h1>") }
/// router.webSocket("/echo", origins: .sameHost(), handler: .async { inbound, outbound, _ in
///     for try await message in inbound.messages { try await outbound.send(message) }
/// })
/// try router.serveFiles(from: "public")
/// let server = try await HTTPServer.bind(host: "127.0.0.1", port: 8080, router: router)
/// try await server.run()
/// ```
///
/// `HTTPServer` is a swift-service-lifecycle `Service`: in a `ServiceGroup` with
/// `gracefulShutdownSignals: [.sigterm, .sigint]` a signal stops accepting, lets each
/// in-flight response finish, closes every WebSocket with 1001, and returns within
/// `HTTPServerConfiguration.shutdownTimeout`.
public final class HTTPServer: Sendable {
    private let serverChannel: Channel
    private let registry: ConnectionRegistry
    private let sessions: AsyncStream<WebSocketAsyncSession>
    private let sessionsContinuation: AsyncStream<WebSocketAsyncSession>.Continuation
    private let configuration: HTTPServerConfiguration
    private let logger: Logger
    private let finished: EventLoopPromise<Void>
    private let shutdownStarted = NIOLockedValueBox(false)

    /// The address the server listens on; with port 0 this tells the port chosen.
    public let localAddress: SocketAddress
    /// True when the server speaks TLS.
    public let isSecure: Bool

    private init(
        serverChannel: Channel,
        registry: ConnectionRegistry,
        sessions: (AsyncStream<WebSocketAsyncSession>, AsyncStream<WebSocketAsyncSession>.Continuation),
        configuration: HTTPServerConfiguration,
        logger: Logger,
        isSecure: Bool
    ) {
        self.serverChannel = serverChannel
        self.registry = registry
        (self.sessions, self.sessionsContinuation) = sessions
        self.configuration = configuration
        self.logger = logger
        self.isSecure = isSecure
        self.localAddress = serverChannel.localAddress!
        self.finished = serverChannel.eventLoop.makePromise()
    }

    /// Binds a listening socket and starts accepting connections. Route handlers and
    /// event-loop WebSocket handlers are served at once; async WebSocket handlers start
    /// once `run()` is called.
    ///
    /// - Parameters:
    ///   - tls: serve `https://` and `wss://` with this certificate; nil serves plain text.
    ///   - logger: diagnostics (`!` errors at debug level and above).
    ///   - accessLogger: one `info` line per request and per WebSocket session; nil logs none.
    public static func bind(
        host: String,
        port: Int,
        router: HTTPRouter,
        configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
        tls: WebSocketServerTLS? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        threadPool: NIOThreadPool = .singleton,
        logger: Logger = Logger(label: "canal.http"),
        accessLogger: Logger? = Logger(label: "canal.http.access")
    ) async throws -> HTTPServer {
        // ALPN offers http/1.1 alone, so browsers do not try HTTP/2 on this port.
        let tlsContext = try tls?.makeServerContext(applicationProtocols: ["http/1.1"])
        let registry = ConnectionRegistry()
        let sessions = AsyncStream<WebSocketAsyncSession>.makeStream()
        let continuation = sessions.continuation
        let upgraders = Self.makeUpgraders(router: router, configuration: configuration, logger: logger)
        var silent = Logger(label: "canal.http.access")
        silent.logLevel = .critical
        let shared = HTTPServerContext(
            router: router,
            configuration: configuration,
            upgraders: upgraders,
            onAsyncWebSocket: { continuation.yield($0) },
            fileIO: NonBlockingFileIO(threadPool: threadPool),
            threadPool: threadPool,
            usesFileRegion: tlsContext == nil,
            logger: logger,
            accessLog: AccessLog(logger: accessLogger ?? silent)
        )
        let decoderLimits = Self.decoderLimits(for: configuration)

        var bootstrap = ServerBootstrap(group: eventLoopGroup)
        if let size = configuration.socketSendBufferSize {
            bootstrap = bootstrap.childChannelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(size))
        }
        let serverChannel = try await bootstrap
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Out of descriptors: log, pause accepting briefly, resume.
                    try channel.pipeline.syncOperations.addHandler(AcceptErrorHandler(logger: logger))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    registry.add(channel)
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext {
                        try pipeline.addHandler(NIOSSLServerHandler(context: tlsContext))
                    }
                    try addHTTPHandlers(to: pipeline, shared: shared, decoderLimits: decoderLimits)
                }
            }
            .bind(host: host, port: port)
            .get()
        let server = HTTPServer(
            serverChannel: serverChannel,
            registry: registry,
            sessions: (sessions.stream, continuation),
            configuration: configuration,
            logger: logger,
            isSecure: tlsContext != nil
        )
        logger.info("listening on \(tlsContext == nil ? "http" : "https")://\(AccessLog.address(server.localAddress))")
        return server
    }

    /// One upgrader per WebSocket route, by path.
    static func makeUpgraders(
        router: HTTPRouter,
        configuration: HTTPServerConfiguration,
        logger: Logger
    ) -> [String: WebSocketUpgrader] {
        var upgraders: [String: WebSocketUpgrader] = [:]
        for (path, route) in router.webSocketRoutes {
            upgraders[path] = WebSocketUpgrader(
                configuration: configuration.webSocket,
                logger: logger,
                shouldUpgrade: route.decide,
                handler: route.handler
            )
        }
        return upgraders
    }

    static func decoderLimits(for configuration: HTTPServerConfiguration) -> NIOHTTPDecoderLimitConfiguration {
        var limits = NIOHTTPDecoderLimitConfiguration()
        // The decoder counts the request target as one field; the handler then tells an
        // over-long request line (414) from oversized headers (431).
        limits.maxHeaderFieldSize = max(configuration.maxRequestLineLength, configuration.maxHeaderSize)
        limits.maxHeaderListSize = configuration.maxRequestLineLength + configuration.maxHeaderSize
        limits.maxHeaderFieldCount = configuration.maxHeaderCount
        return limits
    }

    /// The handlers that read and answer HTTP on one connection (after TLS, if any). The
    /// fuzz target of the request head handling builds its pipeline with this too.
    static func addHTTPHandlers(
        to pipeline: ChannelPipeline.SynchronousOperations,
        shared: HTTPServerContext,
        decoderLimits: NIOHTTPDecoderLimitConfiguration
    ) throws {
        // Counts every byte each way, for routes that meter their traffic (HTTPTrafficMeter).
        // Only a router with meters needs it: it stays for the connection's whole life, and
        // an idle WebSocket would otherwise carry it (a handler and its context) for nothing.
        let counter = shared.router.meters.isEmpty ? nil : ByteCountingHandler()
        if let counter { try pipeline.addHandler(counter) }
        let observer = HTTPHeadObserver()
        try pipeline.addHandler(observer)
        // Bytes after an upgrade request are forwarded to the WebSocket handler.
        let decoder = ByteToMessageHandler(
            HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes, limitConfiguration: decoderLimits)
        )
        let encoder = HTTPResponseEncoder()
        try pipeline.addHandler(decoder)
        try pipeline.addHandler(encoder)
        try pipeline.addHandler(
            HTTPServerHandler(shared: shared, observer: observer, counter: counter, decoder: decoder, encoder: encoder))
    }

    /// Serves until `shutdown()` completes, the task is cancelled, or (in a
    /// `ServiceGroup`) a graceful shutdown is requested. Async WebSocket handlers run as
    /// child tasks.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                // Ends with the shutdown, cancelling handlers that outlive their connection.
                await WebSocketAsyncSession.runAll(sessions)
                try await finished.futureResult.get()
            } onCancel: {
                self.shutdown()
            }
        } onGracefulShutdown: {
            self.shutdown()
        }
    }

    /// Stops accepting, lets in-flight responses finish, closes WebSockets with 1001, and
    /// closes whatever is still open after `shutdownTimeout`. `run()` returns then.
    public func shutdown() {
        let first = shutdownStarted.withLockedValue { started -> Bool in
            defer { started = true }
            return !started
        }
        guard first else { return }
        logger.info("shutting down")
        let eventLoop = serverChannel.eventLoop
        let finished = self.finished
        let sessions = sessionsContinuation
        let registry = self.registry
        let logger = self.logger
        serverChannel.close().whenComplete { _ in
            let allClosed = eventLoop.makePromise(of: Void.self)
            let timeout = eventLoop.scheduleTask(in: self.configuration.shutdownTimeout) {
                logger.info("\(registry.count) connections still open after the shutdown timeout; closing them")
                registry.closeAll()
                sessions.finish()
                finished.succeed()
            }
            allClosed.futureResult.whenComplete { _ in
                timeout.cancel()
                sessions.finish()
                finished.succeed()
            }
            registry.quiesce(whenEmpty: allClosed)
        }
    }
}

extension HTTPServer: Service {}
