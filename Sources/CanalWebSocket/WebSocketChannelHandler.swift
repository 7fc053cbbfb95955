import CanalWebSocketCore
import Logging
import NIOCore

/// Drives a `WebSocketConnection` on a NIO channel after the opening handshake.
///
/// Bytes in become core calls; the core's output becomes writes, flushed once per read
/// burst — on NIO's own event loops, once the loop has read every connection that was
/// ready (see `LoopFlushBatch`). Events go either to a callback on the event loop (the fastest path, used by
/// `WebSocketEventLoopHandler`) or down the pipeline as `WebSocketEvent`s, where
/// `NIOAsyncChannel` turns them into an async sequence.
///
/// The parts: what the application sends and backpressure (`+Outbound`), input held
/// during the switch from HTTP (`+HeldInput`), flush batching (`+Flushing`), keepalive and
/// close timers (`+Timers`); this file reads, writes and drives the core.
public final class WebSocketChannelHandler: ChannelDuplexHandler, RemovableChannelHandler, LoopFlushable {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = WebSocketEvent
    public typealias OutboundIn = WebSocketOutboundItem
    public typealias OutboundOut = ByteBuffer

    /// Called on the event loop for each event when the handler runs in callback mode.
    public typealias EventCallback = (WebSocketEvent, WebSocketLoopSocket) -> Void

    /// Where the handler stands with its channel.
    enum State {
        /// The pipeline is still being switched over from HTTP: what arrives and what is
        /// sent waits (`WebSocketChannelHandler+HeldInput.swift`).
        case holdingInput(HeldInput)
        /// Bytes flow both ways.
        case active
        /// The transport's sending side is closed or closing: nothing more is written.
        case outputClosed
    }

    var connection: WebSocketConnection
    let timeouts: WebSocketTimeouts
    let logger: Logger
    /// Whether the logger traces bytes, read once: asking the log handler costs a copy of it
    /// per call, twice per message.
    private let tracesBytes: Bool
    var callback: EventCallback?
    var context: ChannelHandlerContext?
    var channel: Channel? { context?.channel }
    var state: State = .active
    var closeTimer: Scheduled<Void>?
    /// Keepalive pings, fed with the event loop's clock; nil when keepalive is off.
    var keepalive: WebSocketKeepalive?
    var keepaliveTimer: Scheduled<Void>?
    /// Completed with the close status once the connection is over, then dropped.
    private var closedPromise: EventLoopPromise<WebSocketCloseStatus>?
    /// Promises of sends that wait in the core behind a fragmented message, each with the
    /// count of deferred sends at which it has left (`WebSocketConnection.deferredSends`).
    var deferredWritePromises: [(mark: UInt64, promise: EventLoopPromise<Void>)] = []
    /// Payload bytes the application queued since the channel last stopped being writable.
    var queuedWhileFull = 0

    // What the call in progress is doing, rather than where the connection stands:
    /// A `read` held back while the channel could not take more writes.
    var readHeld = false
    var isInRead = false
    var isDelivering = false
    /// A callback sent during delivery; the delivering `pump` writes it with the rest.
    var hasDeferredSends = false

    /// Where the flush at the end of a read burst waits for the other connections on the
    /// loop; `nil` on loops other than NIO's own (embedded ones in tests): flush at once.
    var flushBatch: LoopFlushBatch?
    /// Writes were made since the last flush.
    var needsFlush = false
    /// This handler waits in `flushBatch`.
    var flushBatched = false
    /// Counts what an async handler's `WebSocketOutbound` sent until it is written; nil for
    /// event-loop handlers, whose writes cost nothing extra.
    let outboundGate: WebSocketOutboundGate?

    /// - Parameters:
    ///   - connection: the core, already past the handshake.
    ///   - timeouts: keepalive pings and how long to wait for the closing handshake.
    ///   - logger: gets byte counts and state changes at trace level, errors and the end at debug.
    ///   - closed: completed with the close status once the connection is over.
    ///   - callback: if set, events go to it instead of down the pipeline.
    public convenience init(
        connection: WebSocketConnection,
        timeouts: WebSocketTimeouts = WebSocketTimeouts(),
        logger: Logger = Logger(label: "canal.websocket"),
        closed: EventLoopPromise<WebSocketCloseStatus>? = nil,
        callback: EventCallback? = nil
    ) {
        self.init(
            connection: connection,
            timeouts: timeouts,
            logger: logger,
            closed: closed,
            callback: callback,
            outboundGate: nil
        )
    }

    /// - Parameter outboundGate: shared with the `WebSocketOutbound` of an async handler;
    ///   every item written through the pipeline gives its bytes back to it once written.
    init(
        connection: WebSocketConnection,
        timeouts: WebSocketTimeouts,
        logger: Logger,
        closed: EventLoopPromise<WebSocketCloseStatus>?,
        callback: EventCallback?,
        outboundGate: WebSocketOutboundGate?
    ) {
        self.connection = connection
        self.timeouts = timeouts
        self.logger = logger
        self.tracesBytes = logger.logLevel <= .trace
        self.closedPromise = closed
        self.callback = callback
        self.outboundGate = outboundGate
    }

    /// Sets the event callback of a handler made without one, before it joins a pipeline.
    func setCallback(_ callback: @escaping EventCallback) {
        self.callback = callback
    }

    var isHoldingInput: Bool {
        if case .holdingInput = state { return true }
        return false
    }

    var isOutputClosed: Bool {
        if case .outputClosed = state { return true }
        return false
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Without remote half-closure NIO closes the channel right after the read burst
        // that saw the peer's FIN, before a batched flush would run: flush at once then.
        let halfClosure = (try? context.channel.syncOptions?.getOption(.allowRemoteHalfClosure)) ?? false
        flushBatch = halfClosure ? LoopFlushBatch.current(for: context.eventLoop) : nil
        if let interval = timeouts.keepaliveInterval {
            keepalive = WebSocketKeepalive(
                interval: interval,
                timeout: timeouts.keepaliveTimeout,
                now: context.eventLoop.now
            )
            scheduleKeepalive(context: context)
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        // Writes waiting for the loop's batched flush must not be left behind.
        flushIfNeeded(context: context)
        failWrites(held: takeHeldWritePromises())
        outboundGate?.close()
        stopKeepalive()
        closeTimer?.cancel()
        closeTimer = nil
        reportClosed(WebSocketCloseStatus(code: .abnormalClosure, reason: "", wasClean: false))
        callback = nil  // see `deliver`: the callback may hold this handler
        self.context = nil
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if updateHeldInput({ $0.input.append(bytes) }) {
            return
        }
        if tracesBytes {
            logger.trace("< \(bytes.readableBytes) bytes")
        }
        isInRead = true
        connection.receive(bytes)
        pump(context: context)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            // The peer sent FIN (remote half-closure is enabled so that we still can answer).
            if updateHeldInput({ $0.eof = true }) {
                return
            }
            connection.receiveEOF()
            pump(context: context)
        case is ChannelShouldQuiesceEvent:
            // Graceful server shutdown: RFC 6455 §7.4.1, 1001 "going away".
            send(.close(code: .goingAway, reason: "server shutting down"))
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        let held: HeldInput?
        if case .holdingInput(let input) = state { held = input } else { held = nil }
        state = .outputClosed  // nothing can be written any more
        // Input kept aside during the switch from HTTP still counts: its messages reach
        // the application before the connection reports the abnormal end.
        if let held {
            for bytes in held.input { connection.receive(bytes) }
        }
        failWrites(held: held?.writePromises ?? [])
        // Senders waiting for room would wait forever: nothing will be written any more.
        outboundGate?.close()
        connection.receiveEOF()
        pump(context: context)
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("! transport error: \(error)")
        flushAndClose(context: context)
    }

    // MARK: Driving the core

    /// Writes output, delivers events, and manages timers and the transport.
    func pump(context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        writeOutputs(context: context, promise: promise)
        // A callback that sends re-enters here; the outer call finishes the work.
        guard !isDelivering else { return }
        isDelivering = true
        var delivered = false
        while let event = connection.nextEvent() {
            deliver(event, context: context)
            delivered = true
        }
        isDelivering = false
        if delivered, !isInRead, callback == nil {
            // Events from outside a read burst (held input, EOF, timers): downstream
            // handlers such as NIOAsyncChannel's deliver on read-complete.
            context.fireChannelReadComplete()
        }
        writeOutputs(context: context, promise: nil)
        if hasDeferredSends {
            hasDeferredSends = false
            // Outside a read burst nothing else flushes what the callbacks sent.
            if !isInRead { flushIfNeeded(context: context) }
        }
        updateTransport(context: context)
    }

    func writeOutputs(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if updateHeldInput({ held in if let promise { held.writePromises.append(promise) } }) {
            return
        }
        var lastWrite: EventLoopFuture<Void>?
        // Deferred data (the fragments of a large message and what follows it) goes out only
        // while the channel has room, so that a later pong waits behind little of it.
        while let output = connection.nextOutput(includingDeferredData: context.channel.isWritable) {
            switch output {
            case .bytes(let bytes):
                guard !isOutputClosed else { continue }
                if tracesBytes { logger.trace("> \(bytes.readableBytes) bytes") }
                if let mark = deferredWritePromises.first?.mark, connection.deferredSends.emitted >= mark {
                    let written = context.eventLoop.makePromise(of: Void.self)
                    context.write(wrapOutboundOut(bytes), promise: written)
                    settleDeferredWrites(with: written.futureResult)
                } else if promise != nil {
                    lastWrite = context.write(wrapOutboundOut(bytes))
                } else {
                    context.write(wrapOutboundOut(bytes), promise: nil)
                }
                needsFlush = true
            case .shutdownOutput:
                guard !isOutputClosed else { continue }
                state = .outputClosed
                needsFlush = false
                context.flush()
                logger.trace("= half-closing the transport")
                let halfClosed = context.eventLoop.makePromise(of: Void.self)
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                halfClosed.futureResult.whenFailure { _ in
                    // Transports without half-closure: close outright.
                    bound.value.close(promise: nil)
                }
                context.close(mode: .output, promise: halfClosed)
            case .closeTransport:
                guard !isOutputClosed else { continue }
                state = .outputClosed
                needsFlush = false
                logger.trace("= closing the transport")
                // NIO fails writes still pending at close: close once an empty write queued
                // behind them completes.
                let written = context.eventLoop.makePromise(of: Void.self)
                context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: written)
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                written.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
            }
        }
        if let promise {
            if let lastWrite { lastWrite.cascade(to: promise) } else { promise.succeed() }
        }
        settleDeferredWrites(with: nil)
    }

    /// Completes the promises of deferred sends that have left the core: with `write` when
    /// their last frame is in it, and with a failure when the core discarded them.
    private func settleDeferredWrites(with write: EventLoopFuture<Void>?) {
        let sends = connection.deferredSends
        while let (mark, promise) = deferredWritePromises.first {
            if mark <= sends.emitted, let write {
                write.cascade(to: promise)
            } else if mark > sends.emitted, mark <= sends.emitted + sends.discarded {
                promise.fail(ChannelError.ioOnClosedChannel)
            } else {
                return
            }
            deferredWritePromises.removeFirst()
        }
    }

    private func deliver(_ event: WebSocketEvent, context: ChannelHandlerContext) {
        switch event {
        case .closed(let status):
            logger.debug("= closed: \(status)")
            reportClosed(status)
        case .closeReceived(let code, let reason):
            logger.trace("< close \(code.map { String($0.rawValue) } ?? "-") \(reason)")
        case .pong(let payload):
            if keepalive?.pongReceived(payload, now: context.eventLoop.now) == true {
                scheduleKeepalive(context: context)
            }
        case .message, .ping:
            break
        }
        if let callback {
            callback(event, WebSocketLoopSocket(handler: self))
            if case .closed = event {
                // The last event: a callback that keeps its socket (as `.eventLoopWithSocket`
                // ones do) holds this handler, which holds the callback. Break the cycle.
                self.callback = nil
            }
        } else {
            switch event {
            case .ping, .pong:
                guard connection.configuration.exposesPingPong else { return }
                context.fireChannelRead(wrapInboundOut(event))
            default:
                context.fireChannelRead(wrapInboundOut(event))
            }
        }
    }

    private func reportClosed(_ status: WebSocketCloseStatus) {
        guard let promise = closedPromise else { return }
        closedPromise = nil
        promise.succeed(status)
    }
}

@available(*, unavailable)
extension WebSocketChannelHandler: Sendable {}
