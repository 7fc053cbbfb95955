import NIOCore

/// One flush per read burst: writes made while reading (replies, pongs, what callbacks
/// send) wait for `channelReadComplete`, and on NIO's own event loops for the end of the
/// loop's round, when every connection that was ready has been read (`LoopFlushBatch`).
extension WebSocketChannelHandler {
    public func channelReadComplete(context: ChannelHandlerContext) {
        guard !isHoldingInput else { return context.fireChannelReadComplete() }
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

    /// A flush asked for on the event loop (by an async handler's writer, after each send)
    /// waits for the end of the loop's round, like the replies of a read burst: the sends
    /// of one turn of the handler leave in one write.
    public func flush(context: ChannelHandlerContext) {
        if let flushBatch, outboundGate != nil, !isOutputClosed {
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

    func batchedFlush() {
        flushBatched = false
        guard let context else { return }
        flushIfNeeded(context: context)
    }

    /// Every close goes through here: writes still waiting for the loop's batched flush
    /// go out before the transport closes.
    func flushAndClose(
        context: ChannelHandlerContext,
        mode: CloseMode = .all,
        promise: EventLoopPromise<Void>? = nil
    ) {
        flushIfNeeded(context: context)
        context.close(mode: mode, promise: promise)
    }

    func flushIfNeeded(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
    }
}
