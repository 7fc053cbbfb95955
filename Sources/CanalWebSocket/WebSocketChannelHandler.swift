import CanalWebSocketCore
import Logging
import NIOCore

/// What an application can ask a connection to send.
public enum WebSocketOutboundItem: Sendable, Hashable {
    case message(WebSocketMessage)
    /// One fragment of a message streamed by the application; see `WebSocketConnection.sendFragment`.
    case fragment(ByteBuffer, kind: WebSocketMessage.Kind, isFinal: Bool)
    case ping(ByteBuffer)
    case pong(ByteBuffer)
    /// Starts the closing handshake; `code: nil` sends a close frame without a body.
    case close(code: WebSocketCloseCode?, reason: String)
}

/// Timing of a connection: keepalive pings and how long to wait for the closing handshake.
public struct WebSocketTimeouts: Sendable, Hashable {
    /// Send a ping after this long (and again this long after each ping whose pong came
    /// back). `nil` turns keepalive off. Default 20 s, as python `websockets`.
    public var keepaliveInterval: TimeAmount?
    /// Close with 1011 when the pong of a keepalive ping has not come back this long after
    /// the ping. Only a pong with the ping's payload counts (RFC 6455 §5.5.3). Default 20 s.
    public var keepaliveTimeout: TimeAmount
    /// How long to wait for the peer's close frame, then for the transport to end, before
    /// dropping the connection. Default 10 s.
    public var closeTimeout: TimeAmount

    public init(
        keepaliveInterval: TimeAmount? = .seconds(20),
        keepaliveTimeout: TimeAmount = .seconds(20),
        closeTimeout: TimeAmount = .seconds(10)
    ) {
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveTimeout = keepaliveTimeout
        self.closeTimeout = closeTimeout
    }
}

/// Drives a `WebSocketConnection` on a NIO channel after the opening handshake.
///
/// Bytes in become core calls; the core's output becomes writes, flushed once per read
/// burst — on NIO's own event loops, once the loop has read every connection that was
/// ready (see `LoopFlushBatch`). Events go either to a callback on the event loop (the fastest path, used by
/// `WebSocketEventLoopHandler`) or down the pipeline as `WebSocketEvent`s, where
/// `NIOAsyncChannel` turns them into an async sequence.
public final class WebSocketChannelHandler: ChannelDuplexHandler, RemovableChannelHandler, LoopFlushable {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = WebSocketEvent
    public typealias OutboundIn = WebSocketOutboundItem
    public typealias OutboundOut = ByteBuffer

    /// Called on the event loop for each event when the handler runs in callback mode.
    public typealias EventCallback = (WebSocketEvent, WebSocketLoopSocket) -> Void

    private var connection: WebSocketConnection
    private let timeouts: WebSocketTimeouts
    private let logger: Logger
    /// Whether the logger traces bytes, read once: asking the log handler costs a copy of it
    /// per call, twice per message.
    private let tracesBytes: Bool
    private var callback: EventCallback?
    private var context: ChannelHandlerContext?
    var channel: Channel? { context?.channel }
    private var needsFlush = false
    private var outputClosed = false
    private var closeTimer: Scheduled<Void>?
    /// Keepalive pings, fed with the event loop's clock; nil when keepalive is off.
    private var keepalive: WebSocketKeepalive?
    private var keepaliveTimer: Scheduled<Void>?
    private let closedPromise: EventLoopPromise<WebSocketCloseStatus>?
    private var closeReported = false
    /// Input that arrived while the pipeline was still being switched over.
    private var heldInput: [ByteBuffer]?
    private var eofHeld = false
    /// Promises of writes asked for while input is held; the bytes wait in the core.
    private var heldWritePromises: [EventLoopPromise<Void>] = []
    /// Promises of sends that wait in the core behind a fragmented message, each with the
    /// count of deferred sends at which it has left (`WebSocketConnection.deferredSends`).
    private var deferredWritePromises: [(mark: UInt64, promise: EventLoopPromise<Void>)] = []
    /// A `read` held back while the channel could not take more writes.
    private var readHeld = false
    /// Payload bytes the application queued since the channel last stopped being writable.
    private var queuedWhileFull = 0
    private var isInRead = false
    private var isDelivering = false
    /// A callback sent during delivery; the delivering `pump` writes it with the rest.
    private var hasDeferredSends = false
    /// Where the flush at the end of a read burst waits for the other connections on the
    /// loop; `nil` on loops other than NIO's own (embedded ones in tests): flush at once.
    private var flushBatch: LoopFlushBatch?
    private var flushBatched = false
    /// Counts what an async handler's `WebSocketOutbound` sent until it is written; nil for
    /// event-loop handlers, whose writes cost nothing extra.
    private let outboundGate: WebSocketOutboundGate?

    /// - Parameters:
    ///   - connection: the core, already past the handshake.
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
        failHeldWrites()
        outboundGate?.close()
        stopKeepalive()
        closeTimer?.cancel()
        closeTimer = nil
        reportClosed(WebSocketCloseStatus(code: .abnormalClosure, reason: "", wasClean: false))
        callback = nil  // see `deliver`: the callback may hold this handler
        self.context = nil
    }

    /// Keeps input aside until `releaseInput()`, while handlers that must not see
    /// WebSocket writes are still leaving the pipeline. Output waits too: a keepalive ping
    /// or an early send must not pass through an HTTP codec that is still there.
    func holdInput() {
        if heldInput == nil { heldInput = [] }
    }

    /// Processes the input kept aside by `holdInput()`.
    func releaseInput() {
        guard let held = heldInput else { return }
        heldInput = nil
        guard let context else { return }
        isInRead = true
        let waiting = heldWritePromises
        heldWritePromises = []
        if waiting.isEmpty {
            writeOutputs(context: context, promise: nil)
        } else {
            let written = context.eventLoop.makePromise(of: Void.self)
            writeOutputs(context: context, promise: written)
            for promise in waiting { written.futureResult.cascade(to: promise) }
        }
        updateTransport(context: context)
        for bytes in held {
            connection.receive(bytes)
            pump(context: context)
        }
        isInRead = false
        flushIfNeeded(context: context)
        if !held.isEmpty, callback == nil {
            context.fireChannelReadComplete()
        }
        if eofHeld {
            connection.receiveEOF()
            pump(context: context)
        }
    }

    private func failHeldWrites() {
        let waiting = heldWritePromises + deferredWritePromises.map(\.promise)
        heldWritePromises = []
        deferredWritePromises = []
        for promise in waiting { promise.fail(ChannelError.ioOnClosedChannel) }
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if heldInput != nil {
            heldInput!.append(bytes)
            return
        }
        if tracesBytes {
            logger.trace("< \(bytes.readableBytes) bytes")
        }
        isInRead = true
        connection.receive(bytes)
        pump(context: context)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        guard heldInput == nil else { return context.fireChannelReadComplete() }
        isInRead = false
        if needsFlush, let flushBatch {
            if !flushBatched {
                flushBatched = true
                flushBatch.add(self)
            }
        } else {
            flushIfNeeded(context: context)
        }
        context.fireChannelReadComplete()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            // The peer sent FIN (remote half-closure is enabled so that we still can answer).
            if heldInput != nil {
                eofHeld = true
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
        outputClosed = true  // nothing can be written any more
        // Input kept aside during the switch from HTTP still counts: its messages reach
        // the application before the connection reports the abnormal end.
        if let held = heldInput {
            heldInput = nil
            for bytes in held { connection.receive(bytes) }
        }
        failHeldWrites()
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

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let item = unwrapOutboundIn(data)
        var promise = promise
        if let outboundGate {
            // An item from `WebSocketOutbound`, which reserved its bytes: release them once
            // the write completes, whether it was written or failed.
            let bytes = WebSocketOutboundGate.bytes(of: item)
            if bytes > 0 {
                let written = promise ?? context.eventLoop.makePromise(of: Void.self)
                written.futureResult.whenComplete { _ in outboundGate.release(bytes) }
                promise = written
            }
        }
        guard case .accepted(let unsettled) = apply(item, promise: promise) else { return }
        pump(context: context, promise: unsettled)
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            queuedWhileFull = 0
            if connection.hasDeferredOutput {
                // Room again: the next fragments of a large message (RFC 6455 §5.4).
                writeOutputs(context: context, promise: nil)
                flushIfNeeded(context: context)
                updateTransport(context: context)
            }
            if readHeld {
                readHeld = false
                context.read()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    /// Reads only while the channel can take writes: a peer that does not read what it is
    /// sent cannot make the server queue the answers to what it keeps sending.
    public func read(context: ChannelHandlerContext) {
        if context.channel.isWritable || outputClosed {
            context.read()
        } else {
            readHeld = true
        }
    }

    /// The peer stopped reading and the application queued more than `maxUnreadOutput`
    /// for it: drop the connection rather than hold its data.
    private func dropSlowReader(context: ChannelHandlerContext) {
        logger.debug("! peer does not read: over \(connection.configuration.maxUnreadOutput ?? 0) bytes queued; dropping it")
        connection.fail(.slowReader)
        outputClosed = true
        needsFlush = false
        context.close(promise: nil)
    }

    /// A flush asked for on the event loop (by an async handler's writer, after each send)
    /// waits for the end of the loop's round, like the replies of a read burst: the sends
    /// of one turn of the handler leave in one write.
    public func flush(context: ChannelHandlerContext) {
        if let flushBatch, outboundGate != nil, !outputClosed {
            needsFlush = true
            if !isInRead, !flushBatched {
                flushBatched = true
                flushBatch.add(self)
            }
            return
        }
        needsFlush = false
        context.flush()
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        flushAndClose(context: context, mode: mode, promise: promise)
    }

    private enum Applied {
        /// The core refused the item; its promise has failed.
        case refused
        /// The core took the item; the promise to complete with the writes that follow,
        /// nil when the item waits behind a fragmented message (its promise then completes
        /// with the write of its last frame).
        case accepted(EventLoopPromise<Void>?)
    }

    private func apply(_ item: WebSocketOutboundItem, promise: EventLoopPromise<Void>?) -> Applied {
        let queuedBefore = connection.deferredSends.queued
        if let context, !context.channel.isWritable, let limit = connection.configuration.maxUnreadOutput {
            queuedWhileFull += WebSocketOutboundGate.bytes(of: item)
            if queuedWhileFull > limit {
                dropSlowReader(context: context)
                promise?.fail(ChannelError.ioOnClosedChannel)
                return .refused
            }
        }
        do {
            switch item {
            case .message(let message): try connection.send(message)
            case .fragment(let data, let kind, let isFinal):
                try connection.sendFragment(data, kind: kind, isFinal: isFinal)
            case .ping(let data): try connection.sendPing(data)
            case .pong(let data): try connection.sendPong(data)
            case .close(let code, let reason): try connection.close(code: code, reason: reason)
            }
        } catch {
            promise?.fail(error)
            return .refused
        }
        let queued = connection.deferredSends.queued
        if queued > queuedBefore, let promise {
            deferredWritePromises.append((queued, promise))
            return .accepted(nil)
        }
        return .accepted(promise)
    }

    /// Sends from the event loop, outside the pipeline (callbacks, timers, the W3C facade).
    /// Inside a read burst the flush waits for `channelReadComplete`.
    func send(_ item: WebSocketOutboundItem, promise: EventLoopPromise<Void>? = nil) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        guard case .accepted(let promise) = apply(item, promise: promise) else { return }
        if isDelivering, promise == nil {
            // From a callback: the core gathers every reply to this read burst in one
            // buffer, which the delivering pump writes once its events are delivered.
            hasDeferredSends = true
            return
        }
        pump(context: context, promise: promise)
        if !isInRead {
            flushIfNeeded(context: context)
        }
    }

    // MARK: Driving the core

    /// Writes output, delivers events, and manages timers and the transport.
    private func pump(context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
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

    private func writeOutputs(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if heldInput != nil {
            if let promise { heldWritePromises.append(promise) }
            return
        }
        var lastWrite: EventLoopFuture<Void>?
        // Deferred data (the fragments of a large message and what follows it) goes out only
        // while the channel has room, so that a later pong waits behind little of it.
        while let output = connection.nextOutput(includingDeferredData: context.channel.isWritable) {
            switch output {
            case .bytes(let bytes):
                guard !outputClosed else { continue }
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
                guard !outputClosed else { continue }
                outputClosed = true
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
                guard !outputClosed else { continue }
                outputClosed = true
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

    private func updateTransport(context: ChannelHandlerContext) {
        switch connection.state {
        case .open:
            break
        case .closeSent, .closeHandshakeDone, .failed:
            stopKeepalive()
            if closeTimer == nil {
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                closeTimer = context.eventLoop.scheduleTask(in: timeouts.closeTimeout) {
                    bound.value.closeTimedOut()
                }
            }
        case .closed:
            closeTimer?.cancel()
            stopKeepalive()
            if context.channel.isActive {
                flushAndClose(context: context)
            }
        }
    }

    func batchedFlush() {
        flushBatched = false
        guard let context else { return }
        flushIfNeeded(context: context)
    }

    /// Every close goes through here: writes still waiting for the loop's batched flush
    /// go out before the transport closes.
    private func flushAndClose(
        context: ChannelHandlerContext,
        mode: CloseMode = .all,
        promise: EventLoopPromise<Void>? = nil
    ) {
        flushIfNeeded(context: context)
        context.close(mode: mode, promise: promise)
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
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
        guard !closeReported else { return }
        closeReported = true
        closedPromise?.succeed(status)
    }

    private func closeTimedOut() {
        guard let context else { return }
        logger.debug("! close timeout elapsed")
        connection.closeTimeoutElapsed()
        pump(context: context)
        flushAndClose(context: context)
    }

    /// Arms one timer for the keepalive's next deadline (a ping, or a pong's timeout).
    private func scheduleKeepalive(context: ChannelHandlerContext) {
        keepaliveTimer?.cancel()
        keepaliveTimer = nil
        guard let deadline = keepalive?.deadline else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        keepaliveTimer = context.eventLoop.scheduleTask(deadline: deadline) {
            bound.value.keepaliveDeadlineReached()
        }
    }

    private func stopKeepalive() {
        keepalive?.stop()
        keepaliveTimer?.cancel()
        keepaliveTimer = nil
    }

    private func keepaliveDeadlineReached() {
        keepaliveTimer = nil
        guard let context, connection.isOpen, keepalive != nil else { return }
        switch keepalive!.tick(now: context.eventLoop.now) {
        case .none:
            break
        case .sendPing(let payload):
            send(.ping(payload))
        case .timedOut:
            logger.debug("! keepalive ping timeout")
            connection.fail(.keepaliveTimeout)
            pump(context: context)
            flushIfNeeded(context: context)
        }
        scheduleKeepalive(context: context)
    }
}

@available(*, unavailable)
extension WebSocketChannelHandler: Sendable {}

/// The connection as seen from an event-loop callback. Valid only on the channel's event loop.
public struct WebSocketLoopSocket {
    let handler: WebSocketChannelHandler

    /// Queues a message; it is flushed at the end of the current read burst.
    public func send(_ message: WebSocketMessage) {
        handler.send(.message(message))
    }

    /// Queues a message and learns when it was written to the socket.
    public func send(_ message: WebSocketMessage, promise: EventLoopPromise<Void>?) {
        handler.send(.message(message), promise: promise)
    }

    public func ping(_ payload: ByteBuffer = ByteBuffer()) {
        handler.send(.ping(payload))
    }

    public func close(code: WebSocketCloseCode? = .normalClosure, reason: String = "") {
        handler.send(.close(code: code, reason: reason))
    }

    /// The connection's channel, while it is open: its event loop, addresses and
    /// writability (`channel.isWritable` turns false when the socket's send buffer is full).
    public var channel: Channel? {
        handler.channel
    }
}
