import CanalWebSocket
import Logging
import NIOCore
import NIOHTTP1

// TEMPORARY: stands in for CanalWebSocket's public `WebSocketUpgrader` until it lands.
// It is built from CanalWebSocket's public pieces only, so it serves `.eventLoop` handlers;
// `.async` handlers need `WebSocketInbound`/`WebSocketOutbound`, whose initialisers are
// internal, and are refused with 501 until the real upgrader replaces this file.

/// What an upgrade attempt came to.
enum WebSocketUpgradeOutcome {
    /// The 101 went out and the pipeline now speaks WebSocket. `closed` completes with the
    /// close status, when the upgrader reports it.
    case upgraded(closed: EventLoopFuture<WebSocketCloseStatus>?)
    case rejected(WebSocketHandshakeRejection)
}

/// An upgraded connection whose async handler must run in the server's task group.
struct PendingAsyncWebSocket: Sendable {
    var run: @Sendable () async -> Void
}

/// Upgrades requests for one WebSocket route.
struct RouteUpgrader: Sendable {
    let configuration: WebSocketServerConfiguration
    let logger: Logger
    let shouldUpgrade: @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision
    let handler: WebSocketServerHandler
    let onAsyncUpgrade: @Sendable (PendingAsyncWebSocket) -> Void

    /// Validates `head` (RFC 6455 §4.2.1), asks `shouldUpgrade`, and on acceptance writes
    /// the 101 and replaces `context`'s handler, the HTTP encoder and the HTTP decoder with
    /// a `WebSocketChannelHandler`. Call it once the request's `.end` arrived.
    func upgrade(_ head: HTTPRequestHead, context: ChannelHandlerContext) -> WebSocketUpgradeOutcome {
        var request: WebSocketUpgradeRequest
        switch WebSocketServerHandshake.validate(head) {
        case .failure(let rejection):
            return .rejected(rejection)
        case .success(let valid):
            request = valid
        }
        request.remoteAddress = context.channel.remoteAddress
        let subprotocol: String?
        let extraHeaders: HTTPHeaders
        switch shouldUpgrade(request) {
        case .reject(let rejection):
            return .rejected(rejection)
        case .accept(let chosen, let headers):
            subprotocol = chosen
            extraHeaders = headers
        }
        guard case .eventLoop(let makeCallback) = handler else {
            return .rejected(WebSocketHandshakeRejection(status: .notImplemented))
        }
        var accepted: [WebSocketExtensionOffer] = []
        var codecs: [any WebSocketExtension] = []
        if let compression = configuration.compression, extraHeaders["Sec-WebSocket-Extensions"].isEmpty,
            let agreement = PerMessageDeflate.negotiate(offers: request.extensionOffers, configuration: compression)
        {
            accepted.append(agreement.response)
            codecs.append(agreement.makeExtension())
        }
        let response = WebSocketServerHandshake.acceptResponse(
            for: request,
            subprotocol: subprotocol,
            extensions: accepted,
            headers: extraHeaders
        )
        context.write(NIOAny(HTTPServerResponsePart.head(response)), promise: nil)
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)

        let channel = context.channel
        let closed = channel.eventLoop.makePromise(of: WebSocketCloseStatus.self)
        let webSocketHandler = WebSocketChannelHandler(
            connection: WebSocketConnection(role: .server, configuration: configuration.webSocket, extensions: codecs),
            timeouts: configuration.timeouts,
            logger: logger,
            closed: closed,
            callback: makeCallback(request)
        )
        do {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(webSocketHandler)
            _ = pipeline.removeHandler(context: context)
            _ = try pipeline.removeHandler(pipeline.handler(type: HTTPResponseEncoder.self))
            // Last: the decoder hands the bytes that followed the request to the new handler.
            _ = try pipeline.removeHandler(pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self))
        } catch {
            logger.error("! could not switch the pipeline to WebSocket: \(error)")
            channel.close(promise: nil)
        }
        return .upgraded(closed: closed.futureResult)
    }
}
