import CanalWebSocketCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Turns an HTTP/1.1 connection into a WebSocket: the server side of the opening handshake
/// (RFC 6455 §4.2) and the pipeline switch after it.
///
/// Use it to accept WebSocket upgrades from your own HTTP handler, on the same port as the
/// rest of your HTTP traffic. `WebSocketServer` and CanalHTTP's `HTTPServer` upgrade
/// through it. Make one per endpoint and share it between connections.
///
/// The pipeline must read with NIOHTTP1's decoder, created with
/// `HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)` so that bytes sent right
/// after the request (a client's first frame, in the same TCP segment) reach the WebSocket
/// handler. Then, on the connection's event loop, from the handler that reads
/// `HTTPServerRequestPart`s:
///
/// 1. `evaluate(_:remoteAddress:)` the request head: it validates the handshake and asks
///    `shouldUpgrade`. Answer `.rejected` yourself with its status, headers and body, and
///    close the connection.
/// 2. Once the request's `.end` has arrived, `upgrade(_:context:encoder:decoder:)` the
///    accepted request: it negotiates permessage-deflate, writes the 101, adds a
///    `WebSocketChannelHandler`, and removes your handler, the encoder and the decoder.
///    Remove any other HTTP-only handlers of yours before calling it. (The variant that
///    finds the codec by type, `upgrade(_:context:)`, also removes the
///    `HTTPServerPipelineHandler`, `NIOHTTPResponseHeadersValidator` and
///    `HTTPServerProtocolErrorHandler` that NIO's `configureHTTPServerPipeline()` adds.)
/// 3. For `.async` handlers, run the returned `session` in a task, typically a child of
///    your server's task group: `group.addTask { await session.run() }`. `.eventLoop`
///    handlers are serving already.
///
/// Nothing here hops off the event loop before the 101 goes out, and nothing is looked
/// up by type when the caller passes its handlers. The upgrader is immutable, so one
/// reference per connection is all a server keeps.
public final class WebSocketUpgrader: Sendable {
    /// Connection limits, timeouts and compression of the upgraded connections.
    public let configuration: WebSocketConnectionConfiguration
    /// What serves each upgraded connection: `.eventLoop` callbacks start with the switch;
    /// `.async` closures start when the caller runs the returned session.
    public let handler: WebSocketServerHandler
    let shouldUpgrade: @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision
    let logger: Logger

    /// - Parameters:
    ///   - shouldUpgrade: decides, before the 101, whether to accept a valid request (check
    ///     `Origin`, authenticate, pick a subprotocol) or reject it with any status.
    ///   - handler: serves each upgraded connection.
    public init(
        configuration: WebSocketConnectionConfiguration = WebSocketConnectionConfiguration(),
        logger: Logger = Logger(label: "canal.server"),
        shouldUpgrade: @escaping @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision = { _ in .accept },
        handler: WebSocketServerHandler
    ) {
        self.configuration = configuration
        self.logger = logger
        self.shouldUpgrade = shouldUpgrade
        self.handler = handler
    }

    /// A request the application accepted, waiting for its `.end` to be upgraded.
    public struct Accepted: Sendable {
        /// The validated request, with the connection's remote address.
        public let request: WebSocketUpgradeRequest
        /// The subprotocol `shouldUpgrade` picked, if any.
        public let subprotocol: String?
        /// Headers `shouldUpgrade` adds to the 101.
        public let headers: HTTPHeaders
    }

    /// The answer to an upgrade request's head.
    public enum Evaluation: Sendable {
        /// Valid and accepted: call `upgrade` once the request has ended.
        case accepted(Accepted)
        /// Invalid (400, 405, 426 naming version 13) or refused by `shouldUpgrade`: answer
        /// with this and close the connection.
        case rejected(WebSocketHandshakeRejection)
    }

    /// The connection after the switch.
    public struct Upgraded: Sendable {
        /// Completes with the close status once the connection is over; for logging.
        public let closed: EventLoopFuture<WebSocketCloseStatus>
        /// For `.async` handlers: the session to run in a task. Nil for `.eventLoop`
        /// handlers, which are serving already.
        public let session: WebSocketAsyncSession?
    }

    /// Validates an upgrade request (RFC 6455 §4.2.1), then asks `shouldUpgrade`.
    ///
    /// - Parameter remoteAddress: the peer, passed on to `shouldUpgrade` and the handler
    ///   in `WebSocketUpgradeRequest.remoteAddress`.
    public func evaluate(_ head: HTTPRequestHead, remoteAddress: SocketAddress?) -> Evaluation {
        switch WebSocketServerHandshake.validate(head) {
        case .failure(let rejection):
            logger.debug("! handshake rejected: \(rejection.status.code) \(rejection.body)")
            return .rejected(rejection)
        case .success(var request):
            request.remoteAddress = remoteAddress
            switch shouldUpgrade(request) {
            case .reject(let rejection):
                return .rejected(rejection)
            case .accept(let subprotocol, let headers):
                if let subprotocol, !request.requestedProtocols.contains(subprotocol) {
                    // RFC 6455 §4.1: the client would fail the connection on this answer. The
                    // fault is the application's, so the client learns no more than a 500.
                    logger.error(
                        "! shouldUpgrade picked the subprotocol \"\(subprotocol)\" that the client did not offer (offered: \(request.requestedProtocols)); answering 500"
                    )
                    return .rejected(WebSocketHandshakeRejection(status: .internalServerError))
                }
                return .accepted(Accepted(request: request, subprotocol: subprotocol, headers: headers))
            }
        }
    }

    /// Answers an accepted request with 101 and switches the pipeline to WebSocket.
    ///
    /// Call it on the event loop, from the handler that owns `context`, after the request's
    /// `.end`. The handler of `context`, `encoder` and `decoder` leave the pipeline, the
    /// decoder last so that the bytes that followed the request go to the WebSocket
    /// handler. Passing the handlers you added saves looking them up by type.
    ///
    /// - Throws: when the pipeline could not be switched (a handler was missing or could
    ///   not be removed). The connection is being closed then.
    public func upgrade(
        _ accepted: Accepted,
        context: ChannelHandlerContext,
        encoder: HTTPResponseEncoder,
        decoder: ByteToMessageHandler<HTTPRequestDecoder>
    ) throws -> Upgraded {
        let request = accepted.request
        var offers: [WebSocketExtensionOffer] = []
        var codecs: [any WebSocketExtension] = []
        // An application that answers Sec-WebSocket-Extensions itself negotiates alone.
        if let compression = configuration.compression, accepted.headers["Sec-WebSocket-Extensions"].isEmpty,
            let agreement = PerMessageDeflate.negotiate(offers: request.extensionOffers, configuration: compression)
        {
            offers.append(agreement.response)
            codecs.append(agreement.makeExtension())
            logger.debug("= \(agreement.response)")
        }
        let response: HTTPResponseHead
        do {
            response = try WebSocketServerHandshake.acceptResponse(
                for: request,
                subprotocol: accepted.subprotocol,
                extensions: offers,
                headers: accepted.headers
            )
        } catch {
            // Only an `Accepted` built outside `evaluate` gets here.
            logger.error("! cannot accept the upgrade: \(error)")
            for codec in codecs { codec.release() }
            context.close(promise: nil)
            throw error
        }
        context.write(NIOAny(HTTPServerResponsePart.head(response)), promise: nil)
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)

        let channel = context.channel
        let closed = channel.eventLoop.makePromise(of: WebSocketCloseStatus.self)
        var callback: WebSocketChannelHandler.EventCallback?
        var outboundGate: WebSocketOutboundGate?
        switch handler {
        case .eventLoop(let make): callback = make(request)
        case .eventLoopWithSocket: break
        case .async: outboundGate = WebSocketOutboundGate(limits: configuration.outboundBuffer)
        }
        let webSocketHandler = WebSocketChannelHandler(
            connection: WebSocketConnection(role: .server, configuration: configuration.webSocket, extensions: codecs),
            timeouts: configuration.timeouts,
            logger: logger,
            closed: closed,
            callback: callback,
            outboundGate: outboundGate
        )
        if case .eventLoopWithSocket(let make) = handler {
            webSocketHandler.setCallback(make(request, WebSocketLoopSocket(handler: webSocketHandler)))
        }
        // Bytes that reach the new handler before the HTTP handlers are gone wait for them.
        webSocketHandler.holdInput()
        let pipeline = channel.pipeline.syncOperations
        do {
            try pipeline.addHandler(webSocketHandler)
            var asyncChannel: NIOAsyncChannel<WebSocketEvent, WebSocketOutboundItem>?
            if case .async = handler {
                asyncChannel = try NIOAsyncChannel(
                    wrappingChannelSynchronously: channel,
                    configuration: WebSocketInbound.channelConfiguration(bufferedEvents: configuration.inboundEventBuffer)
                )
            }
            // Removals by context and by reference: no lookups by type, no futures.
            pipeline.removeHandler(context: context, promise: nil)
            pipeline.removeHandler(encoder, promise: nil)
            // Last: the decoder hands the bytes that followed the request to the new
            // handler, on a later event-loop tick; release them once it is gone.
            let decoderRemoved = channel.eventLoop.makePromise(of: Void.self)
            let bound = NIOLoopBound(webSocketHandler, eventLoop: channel.eventLoop)
            decoderRemoved.futureResult.whenComplete { _ in bound.value.releaseInput() }
            pipeline.removeHandler(decoder, promise: decoderRemoved)
            logger.debug("= upgraded \(request.uri)")

            var session: WebSocketAsyncSession?
            if case .async(let body) = handler, let asyncChannel {
                // Created after the switch: anything the handler writes comes after it.
                session = WebSocketAsyncSession(
                    channel: asyncChannel,
                    request: request,
                    subprotocol: accepted.subprotocol,
                    closed: closed.futureResult,
                    outboundGate: outboundGate,
                    executor: configuration.runsAsyncHandlersOnEventLoop
                        ? EventLoopTaskExecutor(eventLoop: channel.eventLoop) : nil,
                    body: body,
                    logger: logger
                )
            }
            return Upgraded(closed: closed.futureResult, session: session)
        } catch {
            logger.error("! could not switch the pipeline to WebSocket: \(error)")
            // The handler reports a status when it leaves the pipeline; without it, nobody would.
            closed.fail(error)
            channel.close(promise: nil)
            throw error
        }
    }

    /// `upgrade(_:context:encoder:decoder:)` for a pipeline whose encoder and decoder the
    /// caller does not hold: it finds NIOHTTP1's `HTTPResponseEncoder` and
    /// `ByteToMessageHandler<HTTPRequestDecoder>` by type.
    public func upgrade(_ accepted: Accepted, context: ChannelHandlerContext) throws -> Upgraded {
        let pipeline = context.pipeline.syncOperations
        let encoder: HTTPResponseEncoder
        let decoder: ByteToMessageHandler<HTTPRequestDecoder>
        do {
            encoder = try pipeline.handler(type: HTTPResponseEncoder.self)
            decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        } catch {
            logger.error("! no HTTP encoder and decoder to replace with WebSocket: \(error)")
            context.close(promise: nil)
            throw error
        }
        // What `configureHTTPServerPipeline()` adds beside the codec: each expects HTTP
        // parts and would fail on WebSocket bytes.
        func removeIfPresent<Handler: RemovableChannelHandler>(_ type: Handler.Type) {
            if let handler = try? pipeline.handler(type: type) {
                pipeline.removeHandler(handler, promise: nil)
            }
        }
        removeIfPresent(HTTPServerPipelineHandler.self)
        removeIfPresent(NIOHTTPResponseHeadersValidator.self)
        removeIfPresent(HTTPServerProtocolErrorHandler.self)
        return try upgrade(accepted, context: context, encoder: encoder, decoder: decoder)
    }
}

/// An upgraded connection whose `.async` handler has yet to run.
///
/// `WebSocketUpgrader.upgrade` returns it; run it once, in a task of your server's task
/// group (`runAll(_:)` does that for a stream of sessions). `run()` gives the handler the
/// inbound events and the outbound writer and, when the handler returns (or throws),
/// completes the closing handshake (1000, or 1011) and returns once the connection is
/// closed. A session that is never run keeps its connection open until the peer or a
/// timeout ends it.
public struct WebSocketAsyncSession: Sendable {
    let channel: NIOAsyncChannel<WebSocketEvent, WebSocketOutboundItem>
    /// The upgrade request.
    public let request: WebSocketUpgradeRequest
    /// The subprotocol in use, if any.
    public let subprotocol: String?
    /// Completes with the close status once the connection is over.
    public let closed: EventLoopFuture<WebSocketCloseStatus>
    /// Bounds what the handler sends ahead of the peer; shared with the channel handler.
    let outboundGate: WebSocketOutboundGate?
    /// The channel's event loop as task executor, or nil to run on the global executor.
    let executor: EventLoopTaskExecutor?
    let body: @Sendable (WebSocketInbound, WebSocketOutbound, WebSocketContext) async throws -> Void
    let logger: Logger
    /// Set by the first `run()`: the inbound sequence allows one iterator only.
    let started = NIOLockedValueBox(false)

    /// Runs the handler, then closes the connection. Errors the handler throws end the
    /// connection with 1011 and are logged at debug level, not rethrown. Only the first
    /// call (on this value or a copy) runs the handler; later ones return at once.
    public func run() async {
        let first = started.withLockedValue { started in
            defer { started = true }
            return !started
        }
        guard first else {
            logger.debug("! WebSocketAsyncSession.run() called again; ignored")
            return
        }
        // `nil` keeps the task's own preference (none: the global executor).
        await withTaskExecutorPreference(executor) { await serve() }
    }

    private func serve() async {
        do {
            try await channel.executeThenClose { inbound, outbound in
                try await WebSocketServer.runScoped(
                    inbound: WebSocketInbound(stream: inbound),
                    outbound: WebSocketOutbound(writer: outbound, gate: outboundGate),
                    context: WebSocketContext(
                        request: request,
                        subprotocol: subprotocol,
                        channel: channel.channel,
                        closed: closed
                    ),
                    body: body,
                    logger: logger
                )
            }
        } catch {
            logger.debug("! connection ended with \(error)")
        }
    }
}

extension WebSocketAsyncSession {
    /// Runs every session of `sessions` in a child task until the sequence ends (a server
    /// finishes it once every connection is closed or its shutdown timeout passed), then
    /// cancels the handlers still running, so that the caller can return.
    public static func runAll<Sessions: AsyncSequence & Sendable>(_ sessions: Sessions) async
    where Sessions.Element == WebSocketAsyncSession {
        await withDiscardingTaskGroup { group in
            do {
                for try await session in sessions {
                    // Started on the connection's event loop when the handler runs there.
                    group.addTask(executorPreference: session.executor) { await session.run() }
                }
            } catch {
                // A throwing sequence ended: stop as if it had finished.
            }
            group.cancelAll()
        }
    }
}
