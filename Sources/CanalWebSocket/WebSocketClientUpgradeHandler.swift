import CanalWebSocketCore
import Logging
import NIOCore
import NIOHTTP1

/// The result of a successful client handshake.
struct ClientUpgradeResult: Sendable {
    var negotiated: WebSocketClientHandshake.Negotiated
    var asyncChannel: NIOAsyncChannel<WebSocketEvent, WebSocketOutboundItem>?
    var closed: EventLoopFuture<WebSocketCloseStatus>
}

/// Sends the upgrade request, checks the response, and switches the pipeline to WebSocket.
final class WebSocketClientUpgradeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private enum State {
        case awaitingResponse
        case accepted(WebSocketClientHandshake.Negotiated)
        case collectingErrorBody(HTTPResponseStatus, String, ByteBuffer)
        case done
    }

    private var state = State.awaitingResponse
    private let handshake: WebSocketClientHandshake
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
        self.handshake = handshake
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
        case .collectingErrorBody(let status, let description, let body):
            failWithStatus(status, description, body, context: context)
        default:
            fail(WebSocketClientError(.handshakeFailed, "the server closed the connection during the handshake"), context: context)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(WebSocketClientError(.handshakeFailed, "handshake failed: \(error)"), context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .awaitingResponse):
            switch handshake.validate(head) {
            case .success(let negotiated):
                state = .accepted(negotiated)
            case .failure(let error):
                if let status = error.status, status != .switchingProtocols {
                    state = .collectingErrorBody(status, error.description, context.channel.allocator.buffer(capacity: 0))
                } else {
                    fail(WebSocketClientError(.handshakeFailed, status: error.status, error.description), context: context)
                }
            }
        case (.body(var chunk), .collectingErrorBody(let status, let description, var body)):
            let room = Self.maxErrorBody - body.readableBytes
            if room > 0, let slice = chunk.readSlice(length: min(room, chunk.readableBytes)) {
                body.writeImmutableBuffer(slice)
            }
            state = .collectingErrorBody(status, description, body)
        case (.end, .collectingErrorBody(let status, let description, let body)):
            failWithStatus(status, description, body, context: context)
        case (.end, .accepted(let negotiated)):
            upgrade(negotiated, context: context)
        default:
            break
        }
    }

    private func failWithStatus(_ status: HTTPResponseStatus, _ description: String, _ body: ByteBuffer, context: ChannelHandlerContext) {
        let excerpt = String(decoding: body.readableBytesView, as: UTF8.self)
        fail(WebSocketClientError(.handshakeFailed, status: status, bodyExcerpt: excerpt, description), context: context)
    }

    private func fail(_ error: WebSocketClientError, context: ChannelHandlerContext) {
        if case .done = state { return }
        state = .done
        timer?.cancel()
        logger.debug("! \(error)")
        result.fail(error)
        context.close(promise: nil)
    }

    private func upgrade(_ negotiated: WebSocketClientHandshake.Negotiated, context: ChannelHandlerContext) {
        state = .done
        timer?.cancel()
        let channel = context.channel
        let closed = channel.eventLoop.makePromise(of: WebSocketCloseStatus.self)
        let handler = WebSocketChannelHandler(
            connection: WebSocketConnection(role: .client, configuration: configuration.webSocket),
            timeouts: configuration.timeouts,
            logger: logger,
            closed: closed,
            callback: callback
        )
        // The response decoder also watches writes, so no frame may be written while it is
        // in the pipeline. It cannot leave at once from inside its own read, so the new
        // handler holds input (and so writes nothing) until the decoder is gone.
        handler.holdInput()
        let result = self.result
        do {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(handler)
            var asyncChannel: NIOAsyncChannel<WebSocketEvent, WebSocketOutboundItem>?
            if makeAsyncChannel {
                asyncChannel = try NIOAsyncChannel(wrappingChannelSynchronously: channel)
            }
            _ = pipeline.removeHandler(context: context)
            _ = try pipeline.removeHandler(pipeline.handler(type: HTTPRequestEncoder.self))
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self)
            let upgraded = ClientUpgradeResult(negotiated: negotiated, asyncChannel: asyncChannel, closed: closed.futureResult)
            let boundHandler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
            pipeline.removeHandler(decoder).whenComplete { outcome in
                switch outcome {
                case .success:
                    result.succeed(upgraded)
                    boundHandler.value.releaseInput()
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
