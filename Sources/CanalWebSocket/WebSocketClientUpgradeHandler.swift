import CanalWebSocketCore
import Logging
import NIOCore
import NIOHTTP1

/// The result of a successful client handshake.
struct ClientUpgradeResult: Sendable {
    var negotiated: WebSocketClientHandshake.Negotiated
    var asyncChannel: NIOAsyncChannel<WebSocketEvent, WebSocketOutboundItem>?
    /// Bounds what `connect`'s body sends ahead of the server; nil without an async channel.
    var outboundGate: WebSocketOutboundGate?
    var closed: EventLoopFuture<WebSocketCloseStatus>
}

/// Sends the upgrade request, checks the response, and switches the pipeline to WebSocket.
final class WebSocketClientUpgradeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private enum State {
        case awaitingResponse
        case accepted(WebSocketClientHandshake.Negotiated, [any WebSocketExtension])
        case collectingErrorBody(HTTPResponseHead, String, ByteBuffer)
        case done
    }

    private var state = State.awaitingResponse
    private let handshake: WebSocketClientHandshake
    /// The permessage-deflate offer added to the request, if any.
    private let deflateOffer: WebSocketExtensionOffer?
    private let configuration: WebSocketClientConfiguration
    private let callback: WebSocketChannelHandler.EventCallback?
    private let makeAsyncChannel: Bool
    private let logger: Logger
    private let result: EventLoopPromise<ClientUpgradeResult>
    private var timer: Scheduled<Void>?
    private static let maxErrorBody = 1024

    init(
        handshake: WebSocketClientHandshake,
        configuration: WebSocketClientConfiguration,
        callback: WebSocketChannelHandler.EventCallback?,
        makeAsyncChannel: Bool,
        logger: Logger,
        result: EventLoopPromise<ClientUpgradeResult>
    ) {
        // Offer compression unless the application already offers extensions itself.
        if let compression = configuration.compression,
            !handshake.extensionOffers.contains(where: { $0.name.lowercased() == PerMessageDeflate.name }),
            handshake.extraHeaders["Sec-WebSocket-Extensions"].isEmpty
        {
            let offer = PerMessageDeflate.offer(configuration: compression)
            self.deflateOffer = offer
            self.handshake = WebSocketClientHandshake(
                url: handshake.url,
                key: handshake.key,
                protocols: handshake.protocols,
                extensionOffers: handshake.extensionOffers + [offer],
                origin: handshake.origin,
                headers: handshake.extraHeaders
            )
        } else {
            self.deflateOffer = nil
            self.handshake = handshake
        }
        self.configuration = configuration
        self.callback = callback
        self.makeAsyncChannel = makeAsyncChannel
        self.logger = logger
        self.result = result
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: configuration.handshakeTimeout) {
            let (handler, context) = bound.value
            handler.fail(WebSocketClientError(.handshakeTimedOut, "the opening handshake timed out"), context: context)
        }
        if context.channel.isActive { sendRequest(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        sendRequest(context: context)
        context.fireChannelActive()
    }

    private func sendRequest(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(handshake.requestHead)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        switch state {
        case .collectingErrorBody(let head, let description, let body):
            failWithStatus(head, description, body, context: context)
        default:
            fail(WebSocketClientError(.handshakeFailed, "the server closed the connection during the handshake"), context: context)
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            switch state {
            case .collectingErrorBody(let head, let description, let body):
                failWithStatus(head, description, body, context: context)
            case .done:
                break
            default:
                fail(WebSocketClientError(.handshakeFailed, "the server closed the connection during the handshake"), context: context)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(WebSocketClientError(.handshakeFailed, "handshake failed: \(error)"), context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .awaitingResponse):
            switch handshake.validate(head) {
            case .success(let negotiated):
                switch negotiateExtensions(negotiated) {
                case .success(let codecs):
                    state = .accepted(negotiated, codecs)
                case .failure(let error):
                    // RFC 7692 §7.1: a client fails the connection on an invalid response.
                    fail(WebSocketClientError(.handshakeFailed, status: head.status, error.description), context: context)
                }
            case .failure(let error):
                if let status = error.status, status != .switchingProtocols {
                    state = .collectingErrorBody(head, error.description, context.channel.allocator.buffer(capacity: 0))
                } else {
                    fail(WebSocketClientError(.handshakeFailed, status: error.status, error.description), context: context)
                }
            }
        case (.body(var chunk), .collectingErrorBody(let head, let description, var body)):
            let room = Self.maxErrorBody - body.readableBytes
            if room > 0, let slice = chunk.readSlice(length: min(room, chunk.readableBytes)) {
                body.writeImmutableBuffer(slice)
            }
            state = .collectingErrorBody(head, description, body)
        case (.end, .collectingErrorBody(let head, let description, let body)):
            failWithStatus(head, description, body, context: context)
        case (.end, .accepted(let negotiated, let codecs)):
            upgrade(negotiated, extensions: codecs, context: context)
        default:
            break
        }
    }

    private func failWithStatus(_ head: HTTPResponseHead, _ description: String, _ body: ByteBuffer, context: ChannelHandlerContext) {
        let excerpt = String(decoding: body.readableBytesView, as: UTF8.self)
        let error = WebSocketClientError(
            .handshakeFailed,
            status: head.status,
            headers: head.headers,
            bodyExcerpt: excerpt,
            description
        )
        fail(error, context: context)
    }

    private func fail(_ error: WebSocketClientError, context: ChannelHandlerContext) {
        if case .done = state { return }
        state = .done
        timer?.cancel()
        logger.debug("! \(error)")
        result.fail(error)
        context.close(promise: nil)
    }

    /// The codecs for what the server accepted.
    private func negotiateExtensions(
        _ negotiated: WebSocketClientHandshake.Negotiated
    ) -> Result<[any WebSocketExtension], WebSocketHandshakeError> {
        guard let deflateOffer, let compression = configuration.compression else { return .success([]) }
        switch PerMessageDeflate.accept(negotiated.extensions, offered: deflateOffer, configuration: compression) {
        case .success(let agreement?):
            logger.debug("= \(agreement.response)")
            return .success([agreement.makeExtension()])
        case .success(nil):
            return .success([])
        case .failure(let error):
            return .failure(error)
        }
    }

    private func upgrade(
        _ negotiated: WebSocketClientHandshake.Negotiated,
        extensions: [any WebSocketExtension],
        context: ChannelHandlerContext
    ) {
        state = .done
        timer?.cancel()
        let channel = context.channel
        let closed = channel.eventLoop.makePromise(of: WebSocketCloseStatus.self)
        let outboundGate = makeAsyncChannel ? WebSocketOutboundGate(limits: configuration.outboundBuffer) : nil
        let handler = WebSocketChannelHandler(
            connection: WebSocketConnection(role: .client, configuration: configuration.webSocket, extensions: extensions),
            timeouts: configuration.timeouts,
            logger: logger,
            closed: closed,
            callback: callback,
            outboundGate: outboundGate
        )
        // The response decoder also watches writes, so no frame may be written while it is
        // in the pipeline. It cannot leave at once from inside its own read, so the new
        // handler holds input (and so writes nothing) until the decoder is gone.
        handler.holdInput()
        // NIO may read the server's FIN in the same burst as the 101: keep it from the
        // decoder, which would take it as the end of an HTTP body and lose the frames that
        // came with the response (such as a first message and a close frame).
        let endOfInput = EndOfInputDelayer()
        let result = self.result
        do {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(endOfInput, position: .first)
            try pipeline.addHandler(handler)
            var asyncChannel: NIOAsyncChannel<WebSocketEvent, WebSocketOutboundItem>?
            if makeAsyncChannel {
                asyncChannel = try NIOAsyncChannel(
                    wrappingChannelSynchronously: channel,
                    configuration: WebSocketInbound.channelConfiguration(bufferedEvents: configuration.inboundEventBuffer)
                )
            }
            _ = pipeline.removeHandler(context: context)
            _ = try pipeline.removeHandler(pipeline.handler(type: HTTPRequestEncoder.self))
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self)
            let upgraded = ClientUpgradeResult(
                negotiated: negotiated,
                asyncChannel: asyncChannel,
                outboundGate: outboundGate,
                closed: closed.futureResult
            )
            let boundHandler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
            let boundEndOfInput = NIOLoopBound(endOfInput, eventLoop: channel.eventLoop)
            pipeline.removeHandler(decoder).whenComplete { outcome in
                switch outcome {
                case .success:
                    result.succeed(upgraded)
                    boundHandler.value.releaseInput()
                    _ = channel.pipeline.syncOperations.removeHandler(boundEndOfInput.value)
                case .failure(let error):
                    result.fail(WebSocketClientError(.handshakeFailed, "could not switch the pipeline to WebSocket: \(error)"))
                    channel.close(promise: nil)
                }
            }
        } catch {
            result.fail(WebSocketClientError(.handshakeFailed, "could not switch the pipeline to WebSocket: \(error)"))
            channel.close(promise: nil)
        }
    }
}

/// Holds back `inputClosed` while the response decoder leaves the pipeline, and passes it
/// on as it leaves itself, once the WebSocket handler has the bytes that followed the 101.
final class EndOfInputDelayer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private var held: [Any] = []

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event as? ChannelEvent == .some(.inputClosed) {
            held.append(event)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        let events = held
        held = []
        for event in events { context.fireUserInboundEventTriggered(event) }
        context.leavePipeline(removalToken: removalToken)
    }
}
