import CanalWebSocketCore
import Logging
import NIOCore
import NIOHTTP1

/// What became of one accepted TCP connection.
struct UpgradedConnection: Sendable {
    var channel: NIOAsyncChannel<WebSocketEvent, WebSocketOutboundItem>
    var request: WebSocketUpgradeRequest?
    var subprotocol: String?
    var closed: EventLoopFuture<WebSocketCloseStatus>
}

/// Reads HTTP requests on a fresh connection: upgrades WebSocket requests in place,
/// answers anything else with 404, and closes connections that are too slow to send a
/// request head.
final class WebSocketUpgradeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case upgrading(WebSocketUpgradeRequest, subprotocol: String?, headers: HTTPHeaders)
        case ignoringBody(keepAlive: Bool)
        case upgraded
    }

    private var state = State.idle
    private let configuration: WebSocketServerConfiguration
    private let shouldUpgrade: @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision
    private let handler: WebSocketServerHandler
    private let logger: Logger
    /// Hands an upgraded connection with an async handler to the server's task group.
    private let onAsyncUpgrade: @Sendable (UpgradedConnection) -> Void
    private var headTimer: Scheduled<Void>?
    private var quiescing = false

    init(
        configuration: WebSocketServerConfiguration,
        shouldUpgrade: @escaping @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision,
        handler: WebSocketServerHandler,
        logger: Logger,
        onAsyncUpgrade: @escaping @Sendable (UpgradedConnection) -> Void
    ) {
        self.configuration = configuration
        self.shouldUpgrade = shouldUpgrade
        self.handler = handler
        self.logger = logger
        self.onAsyncUpgrade = onAsyncUpgrade
    }

    func handlerAdded(context: ChannelHandlerContext) {
        armHeadTimer(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headTimer?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        headTimer?.cancel()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            context.close(promise: nil)
        case is ChannelShouldQuiesceEvent:
            quiescing = true
            if case .idle = state { context.close(promise: nil) }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // The request could not be parsed (garbage, a TLS hello on a plain port, broken
        // headers): say so and close, rather than wait for the head timeout.
        if error is HTTPParserError, case .idle = state {
            logger.debug("! unparsable request: \(error)")
            headTimer?.cancel()
            respond(status: .badRequest, headers: HTTPHeaders(), body: "Bad Request\n", keepAlive: false, context: context)
            context.close(promise: nil)
            return
        }
        logger.debug("! \(error)")
        context.close(promise: nil)
    }

    private func armHeadTimer(context: ChannelHandlerContext) {
        headTimer?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let logger = self.logger
        headTimer = context.eventLoop.scheduleTask(in: configuration.requestHeadTimeout) {
            logger.debug("! no request head in time; closing")
            bound.value.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            headTimer?.cancel()
            headTimer = nil
            receivedHead(head, context: context)
        case .body:
            break
        case .end:
            switch state {
            case .upgrading(let request, let subprotocol, let headers):
                upgrade(request, subprotocol: subprotocol, headers: headers, context: context)
            case .ignoringBody(let keepAlive):
                state = .idle
                if keepAlive && !quiescing {
                    armHeadTimer(context: context)
                } else {
                    context.close(promise: nil)
                }
            case .idle, .upgraded:
                break
            }
        }
    }

    private func receivedHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard WebSocketServerHandshake.isUpgradeRequest(head) else {
            logger.debug("= \(head.method) \(head.uri) -> 404")
            respond(status: .notFound, headers: HTTPHeaders(), body: "Not Found\n", keepAlive: head.isKeepAlive, context: context)
            return
        }
        switch WebSocketServerHandshake.validate(head) {
        case .failure(let rejection):
            logger.debug("! handshake rejected: \(rejection.status.code) \(rejection.body)")
            respond(rejection, context: context)
        case .success(var request):
            request.remoteAddress = context.channel.remoteAddress
            switch shouldUpgrade(request) {
            case .reject(let rejection):
                respond(rejection, context: context)
            case .accept(let subprotocol, let headers):
                state = .upgrading(request, subprotocol: subprotocol, headers: headers)
            }
        }
    }

    private func respond(_ rejection: WebSocketHandshakeRejection, context: ChannelHandlerContext) {
        respond(status: rejection.status, headers: rejection.headers, body: rejection.body + "\n", keepAlive: false, context: context)
    }

    private func respond(
        status: HTTPResponseStatus,
        headers extra: HTTPHeaders,
        body text: String,
        keepAlive: Bool,
        context: ChannelHandlerContext
    ) {
        var headers = extra
        headers.replaceOrAdd(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.replaceOrAdd(name: "Content-Length", value: String(text.utf8.count))
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        state = .ignoringBody(keepAlive: keepAlive)
    }

    private func upgrade(
        _ request: WebSocketUpgradeRequest,
        subprotocol: String?,
        headers: HTTPHeaders,
        context: ChannelHandlerContext
    ) {
        state = .upgraded
        var accepted: [WebSocketExtensionOffer] = []
        var codecs: [any WebSocketExtension] = []
        // An application that answers Sec-WebSocket-Extensions itself negotiates alone.
        if let compression = configuration.compression, headers["Sec-WebSocket-Extensions"].isEmpty,
            let agreement = PerMessageDeflate.negotiate(offers: request.extensionOffers, configuration: compression)
        {
            accepted.append(agreement.response)
            codecs.append(agreement.makeExtension())
            logger.debug("= \(agreement.response)")
        }
        let response = WebSocketServerHandshake.acceptResponse(
            for: request,
            subprotocol: subprotocol,
            extensions: accepted,
            headers: headers
        )
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)

        let channel = context.channel
        let connection = WebSocketConnection(role: .server, configuration: configuration.webSocket, extensions: codecs)
        let closed = channel.eventLoop.makePromise(of: WebSocketCloseStatus.self)
        var callback: WebSocketChannelHandler.EventCallback?
        if case .eventLoop(let make) = handler { callback = make(request) }
        let webSocketHandler = WebSocketChannelHandler(
            connection: connection,
            timeouts: configuration.timeouts,
            logger: logger,
            closed: closed,
            callback: callback
        )
        webSocketHandler.holdInput()
        do {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(webSocketHandler)
            if case .async = handler {
                let asyncChannel = try NIOAsyncChannel<WebSocketEvent, WebSocketOutboundItem>(
                    wrappingChannelSynchronously: channel
                )
                // Anything the async handler writes hops to this event loop, so it runs
                // after the switch below is complete.
                onAsyncUpgrade(
                    UpgradedConnection(
                        channel: asyncChannel,
                        request: request,
                        subprotocol: subprotocol,
                        closed: closed.futureResult
                    )
                )
            }
            _ = pipeline.removeHandler(context: context)
            _ = try pipeline.removeHandler(pipeline.handler(type: HTTPResponseEncoder.self))
            // Last: the decoder hands any bytes that came after the request to the new handler.
            let bound = NIOLoopBound(webSocketHandler, eventLoop: channel.eventLoop)
            try pipeline.removeHandler(pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self))
                .whenComplete { _ in bound.value.releaseInput() }
            logger.debug("= upgraded \(request.uri)")
        } catch {
            logger.error("! could not switch the pipeline to WebSocket: \(error)")
            channel.close(promise: nil)
        }
    }
}
