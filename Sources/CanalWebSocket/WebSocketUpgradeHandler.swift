import CanalWebSocketCore
import Logging
import NIOCore
import NIOHTTP1

/// Reads HTTP requests on a fresh connection: upgrades WebSocket requests in place,
/// answers anything else with 404, and closes connections that are too slow to send a
/// request head.
final class WebSocketUpgradeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case upgrading(WebSocketUpgrader.Accepted)
        case ignoringBody(keepAlive: Bool)
        case upgraded
    }

    private var state = State.idle
    private let upgrader: WebSocketUpgrader
    /// The HTTP handlers the upgrade removes, held to spare looking them up.
    private let encoder: HTTPResponseEncoder
    private let decoder: ByteToMessageHandler<HTTPRequestDecoder>
    /// Hands an upgraded connection with an async handler to the server's task group.
    private let onAsyncUpgrade: @Sendable (WebSocketAsyncSession) -> Void
    private var headTimer: Scheduled<Void>?
    private let requestHeadTimeout: TimeAmount
    private var quiescing = false

    private var logger: Logger { upgrader.logger }

    init(
        upgrader: WebSocketUpgrader,
        encoder: HTTPResponseEncoder,
        decoder: ByteToMessageHandler<HTTPRequestDecoder>,
        requestHeadTimeout: TimeAmount,
        onAsyncUpgrade: @escaping @Sendable (WebSocketAsyncSession) -> Void
    ) {
        self.upgrader = upgrader
        self.requestHeadTimeout = requestHeadTimeout
        self.encoder = encoder
        self.decoder = decoder
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
        headTimer = context.eventLoop.scheduleTask(in: requestHeadTimeout) {
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
            case .upgrading(let accepted):
                state = .upgraded
                upgrade(accepted, context: context)
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
        switch upgrader.evaluate(head, remoteAddress: context.channel.remoteAddress) {
        case .rejected(let rejection):
            respond(rejection, context: context)
        case .accepted(let accepted):
            state = .upgrading(accepted)
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

    private func upgrade(_ accepted: WebSocketUpgrader.Accepted, context: ChannelHandlerContext) {
        // On failure the upgrader has logged and is closing the connection.
        guard let upgraded = try? upgrader.upgrade(accepted, context: context, encoder: encoder, decoder: decoder)
        else { return }
        if let session = upgraded.session { onAsyncUpgrade(session) }
    }
}
