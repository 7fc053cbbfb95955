import CanalWebSocketCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Connects to WebSocket servers.
///
/// ```swift
/// try await WebSocketClient.connect(to: "ws://127.0.0.1:8080/") { inbound, outbound, _ in
///     try await outbound.send(text: "hello")
///     for try await message in inbound.messages { print(message.text ?? "") ; break }
/// }
/// ```
public enum WebSocketClient {
    /// Opens a connection, runs `body` with it, then completes the closing handshake
    /// (1000 when `body` returns, 1011 when it throws) and returns `body`'s result.
    ///
    /// Throws `WebSocketClientError` when the connection or the handshake fails; its
    /// `status` holds the HTTP status of a refused upgrade.
    public static func connect<Result: Sendable>(
        to url: String,
        configuration: WebSocketClientConfiguration = WebSocketClientConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "canal.client"),
        body: (WebSocketInbound, WebSocketOutbound, WebSocketContext) async throws -> Result
    ) async throws -> Result {
        let (channel, upgrade) = try await open(
            url: url,
            configuration: configuration,
            eventLoopGroup: eventLoopGroup,
            logger: logger,
            makeCallback: nil
        ).get()
        guard let asyncChannel = upgrade.asyncChannel else {
            preconditionFailure("an async channel is always made without a callback")
        }
        let executor = configuration.runsOnEventLoop ? EventLoopTaskExecutor(eventLoop: channel.eventLoop) : nil
        return try await withTaskExecutorPreference(executor) {
            try await asyncChannel.executeThenClose { inbound, outbound in
                try await WebSocketServer.runScoped(
                    inbound: WebSocketInbound(stream: inbound),
                    outbound: WebSocketOutbound(writer: outbound, gate: upgrade.outboundGate),
                    context: WebSocketContext(
                        request: nil,
                        subprotocol: upgrade.negotiated.subprotocol,
                        channel: channel,
                        closed: upgrade.closed
                    ),
                    body: body,
                    logger: logger
                )
            }
        }
    }

    /// Opens a connection whose events go to the callback `makeCallback` makes on the
    /// event loop (or, without one, to an async channel). The building block of `connect` and `WebSocket`.
    static func open(
        url text: String,
        configuration: WebSocketClientConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        makeCallback: (@Sendable () -> WebSocketChannelHandler.EventCallback)?
    ) -> EventLoopFuture<(Channel, ClientUpgradeResult)> {
        let eventLoop = eventLoopGroup.next()
        let url: WebSocketURL
        do {
            url = try WebSocketURL(parsing: text)
        } catch {
            return eventLoop.makeFailedFuture(WebSocketClientError(.invalidURL, "invalid URL \"\(text)\": \(error)"))
        }
        let tlsContext: NIOSSLContext?
        do {
            tlsContext = url.isSecure ? try configuration.tls.makeContext() : nil
        } catch {
            return eventLoop.makeFailedFuture(
                WebSocketClientError(.handshakeFailed, "could not set up TLS: \(error)")
            )
        }
        var headers = configuration.headers
        if let userInfo = url.userInfo, headers.first(name: "Authorization") == nil {
            headers.add(name: "Authorization", value: "Basic " + base64(userInfo))
        }
        let handshake = WebSocketClientHandshake(
            url: url,
            protocols: configuration.protocols,
            origin: configuration.origin,
            headers: headers
        )
        let result = eventLoop.makePromise(of: ClientUpgradeResult.self)
        let connect = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.handshakeTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext {
                        let serverName = isIPAddress(url.host) ? nil : url.host
                        try pipeline.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: serverName))
                    }
                    try pipeline.addHandler(HTTPRequestEncoder())
                    try pipeline.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes)))
                    try pipeline.addHandler(
                        WebSocketClientUpgradeHandler(
                            handshake: handshake,
                            configuration: configuration,
                            callback: makeCallback?(),
                            makeAsyncChannel: makeCallback == nil,
                            logger: logger,
                            result: result
                        )
                    )
                }
            }
            .connect(host: url.host, port: url.port)
        return connect.flatMapError { error in
            let failure = WebSocketClientError(.connectionFailed, "could not connect to \(url.host):\(url.port): \(error)")
            result.fail(failure)
            return eventLoop.makeFailedFuture(failure)
        }.flatMap { channel in
            result.futureResult.map { (channel, $0) }
        }
    }

    private static func base64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }
}

/// A client connection whose events are handled by a callback on its event loop.
/// Sending is safe from any thread.
public struct WebSocketEventLoopConnection: Sendable {
    public let channel: Channel
    /// The subprotocol the server selected, if any.
    public let subprotocol: String?
    /// Completes with the close status when the connection is over.
    public let closed: EventLoopFuture<WebSocketCloseStatus>

    /// Sends a message, a control frame or a close; completes when it is written.
    @discardableResult
    public func send(_ item: WebSocketOutboundItem) -> EventLoopFuture<Void> {
        channel.writeAndFlush(item)
    }
}

extension WebSocketClient {
    /// Opens a connection whose events go to a callback on the connection's event loop,
    /// with no task hops: the fastest client, and the base of the `WebSocket` facade.
    ///
    /// - Parameter makeCallback: called once, on the event loop, to make the callback.
    public static func connect(
        to url: String,
        configuration: WebSocketClientConfiguration = WebSocketClientConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "canal.client"),
        onEvent makeCallback: @escaping @Sendable () -> WebSocketChannelHandler.EventCallback
    ) -> EventLoopFuture<WebSocketEventLoopConnection> {
        open(url: url, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger, makeCallback: { makeCallback() })
            .map { channel, upgrade in
                WebSocketEventLoopConnection(
                    channel: channel,
                    subprotocol: upgrade.negotiated.subprotocol,
                    closed: upgrade.closed
                )
            }
    }
}
