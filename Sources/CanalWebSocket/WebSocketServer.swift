import CanalWebSocketCore
import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A WebSocket server on SwiftNIO.
///
/// ```swift
/// let server = try await WebSocketServer.bind(host: "127.0.0.1", port: 8080, handler: .async { inbound, outbound, _ in
///     for try await message in inbound.messages { try await outbound.send(message) }
/// })
/// try await server.run()
/// ```
///
/// Requests without `Upgrade: websocket` get 404. `shutdown()` (or cancelling the task
/// running `run()`) stops accepting, sends 1001 to every open connection and returns
/// once they have closed.
public final class WebSocketServer: Sendable {
    private let serverChannel: Channel
    private let quiesce: ServerQuiescingHelper
    private let connections: AsyncStream<WebSocketAsyncSession>
    private let connectionsContinuation: AsyncStream<WebSocketAsyncSession>.Continuation
    private let handler: WebSocketServerHandler
    private let configuration: WebSocketServerConfiguration
    private let logger: Logger
    private let allClosed: EventLoopPromise<Void>

    /// The address the server listens on; with port 0 this tells the port chosen.
    public let localAddress: SocketAddress

    private init(
        serverChannel: Channel,
        quiesce: ServerQuiescingHelper,
        connections: (AsyncStream<WebSocketAsyncSession>, AsyncStream<WebSocketAsyncSession>.Continuation),
        handler: WebSocketServerHandler,
        configuration: WebSocketServerConfiguration,
        logger: Logger
    ) {
        self.serverChannel = serverChannel
        self.quiesce = quiesce
        (self.connections, self.connectionsContinuation) = connections
        self.handler = handler
        self.configuration = configuration
        self.logger = logger
        self.localAddress = serverChannel.localAddress!
        self.allClosed = serverChannel.eventLoop.makePromise()
    }

    /// Binds a listening socket. Connections are accepted from then on: event-loop
    /// handlers serve them at once; async handlers start once `run()` is called.
    ///
    /// - Parameters:
    ///   - tls: serve `wss://` with this certificate; nil serves plain `ws://`.
    ///   - shouldUpgrade: decides, before the 101, whether to accept a valid upgrade
    ///     request (check `Origin`, authenticate, pick a subprotocol) or reject it with any
    ///     status. The default accepts every request and selects no subprotocol.
    public static func bind(
        host: String,
        port: Int,
        configuration: WebSocketServerConfiguration = WebSocketServerConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "canal.server"),
        tls: WebSocketServerTLS? = nil,
        shouldUpgrade: @escaping @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision = { _ in .accept },
        handler: WebSocketServerHandler
    ) async throws -> WebSocketServer {
        let tlsContext = try tls?.makeServerContext()
        let upgrader = WebSocketUpgrader(
            configuration: configuration.connection,
            logger: logger,
            shouldUpgrade: shouldUpgrade,
            handler: handler
        )
        let quiesce = ServerQuiescingHelper(group: eventLoopGroup)
        let connections = AsyncStream<WebSocketAsyncSession>.makeStream()
        let continuation = connections.continuation
        let serverChannel = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptErrorHandler(logger: logger))
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            // Each channel keeps its last receive buffer for reuse; starting small keeps an
            // idle connection under 4 KB. The buffer still grows with the traffic.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 1 << 16))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext {
                        try pipeline.addHandler(NIOSSLServerHandler(context: tlsContext))
                    }
                    let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
                    let encoder = HTTPResponseEncoder()
                    try pipeline.addHandler(decoder)
                    try pipeline.addHandler(encoder)
                    try pipeline.addHandler(
                        WebSocketUpgradeHandler(
                            upgrader: upgrader,
                            encoder: encoder,
                            decoder: decoder,
                            requestHeadTimeout: configuration.requestHeadTimeout,
                            onAsyncUpgrade: { continuation.yield($0) }
                        )
                    )
                }
            }
            .bind(host: host, port: port)
            .get()
        let server = WebSocketServer(
            serverChannel: serverChannel,
            quiesce: quiesce,
            connections: (connections.stream, continuation),
            handler: handler,
            configuration: configuration,
            logger: logger
        )
        logger.info("listening on \(server.localAddress)")
        return server
    }

    /// Serves until `shutdown()` completes or the task is cancelled (which shuts down
    /// gracefully). Async connection handlers run as child tasks.
    public func run() async throws {
        try await withTaskCancellationHandler {
            if case .async = handler {
                await WebSocketAsyncSession.runAll(connections)
            }
            try await allClosed.futureResult.get()
        } onCancel: {
            self.shutdown()
        }
    }

    /// Stops accepting, closes every WebSocket with 1001 and every idle HTTP connection,
    /// and lets `run()` return once all are closed (after at most `shutdownTimeout`).
    public func shutdown() {
        let done = allClosed
        let connections = connectionsContinuation
        let quiesced = serverChannel.eventLoop.makePromise(of: Void.self)
        quiesce.initiateShutdown(promise: quiesced)
        let timeout = serverChannel.eventLoop.scheduleTask(in: configuration.shutdownTimeout) {
            connections.finish()
            done.succeed()
        }
        quiesced.futureResult.whenComplete { _ in
            timeout.cancel()
            connections.finish()
            done.succeed()
        }
    }

    /// Runs a connection's closure, then completes the closing handshake: 1000 when it
    /// returned, 1011 when it threw.
    static func runScoped<Result>(
        inbound: WebSocketInbound,
        outbound: WebSocketOutbound,
        context: WebSocketContext,
        body: (WebSocketInbound, WebSocketOutbound, WebSocketContext) async throws -> Result,
        logger: Logger
    ) async throws -> Result {
        let result: Result
        do {
            result = try await body(inbound, outbound, context)
        } catch {
            logger.debug("! handler threw: \(error)")
            try? await outbound.close(code: .internalError, reason: "")
            _ = try? await context.closed.get()
            throw error
        }
        try? await outbound.close(code: .normalClosure, reason: "")
        _ = try? await context.closed.get()
        return result
    }
}
