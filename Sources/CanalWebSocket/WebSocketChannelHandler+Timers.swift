import CanalWebSocketCore
import NIOCore

/// The handler's two timers, on its event loop's clock: keepalive pings (their rules are
/// `WebSocketKeepalive`'s) and the close timeout, which bounds the closing handshake and
/// the wait for the transport to end.
extension WebSocketChannelHandler {
    /// Arms one timer for the keepalive's next deadline (a ping, or a pong's timeout).
    func scheduleKeepalive(context: ChannelHandlerContext) {
        keepaliveTimer?.cancel()
        keepaliveTimer = nil
        guard let deadline = keepalive?.deadline else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        keepaliveTimer = context.eventLoop.scheduleTask(deadline: deadline) {
            bound.value.keepaliveDeadlineReached()
        }
    }

    func stopKeepalive() {
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

    /// Arms the close timer once the closing handshake has started (RFC 6455 §7.1.1: the
    /// endpoint does not wait for the peer forever), and closes the channel once the
    /// connection is over.
    func updateTransport(context: ChannelHandlerContext) {
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

    private func closeTimedOut() {
        guard let context else { return }
        logger.debug("! close timeout elapsed")
        connection.closeTimeoutElapsed()
        pump(context: context)
        flushAndClose(context: context)
    }
}
