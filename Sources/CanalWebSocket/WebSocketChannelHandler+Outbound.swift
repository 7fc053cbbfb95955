import CanalWebSocketCore
import NIOCore

/// What the application sends, and backpressure: a peer that does not read is not read
/// from, and is dropped once the application has queued `maxUnreadOutput` bytes for it.
extension WebSocketChannelHandler {
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
        if context.channel.isWritable || isOutputClosed {
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
        let held = takeHeldWritePromises()
        state = .outputClosed
        needsFlush = false
        context.close(promise: nil)
        for promise in held { promise.fail(ChannelError.ioOnClosedChannel) }
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
}
