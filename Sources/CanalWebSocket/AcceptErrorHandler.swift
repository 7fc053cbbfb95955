import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps a listening socket serving when accepting fails because the process or the system
/// is out of file descriptors (EMFILE, ENFILE) or of memory (ENOBUFS, ENOMEM): the error is
/// logged (at most a line a second, with a count), accepting stops for `backoff`, then
/// resumes; the connections waiting in the backlog are accepted once descriptors free up.
/// Without the pause the listening socket stays readable and the event loop retries
/// `accept` thousands of times a second, spinning a core (NIO keeps the socket registered
/// for reading after a failed accept; turning `autoRead` off unregisters it).
///
/// `WebSocketServer` and CanalHTTP's `HTTPServer` install it on their listening channel.
package final class AcceptErrorHandler: ChannelInboundHandler {
    package typealias InboundIn = Channel

    private let logger: Logger
    private let backoff: TimeAmount
    private var paused = false
    private var lastLogged: NIODeadline?
    private var unlogged = 0

    package init(logger: Logger, backoff: TimeAmount = .milliseconds(100)) {
        self.logger = logger
        self.backoff = backoff
    }

    package func errorCaught(context: ChannelHandlerContext, error: Error) {
        let now = NIODeadline.now()
        if let lastLogged, now - lastLogged < .seconds(1) {
            unlogged += 1
        } else {
            let more = unlogged > 0 ? " (\(unlogged) more since the last report)" : ""
            logger.warning("! accept failed: \(error)\(more); retrying in \(backoff.nanoseconds / 1_000_000) ms")
            lastLogged = now
            unlogged = 0
        }
        if Self.isResourceExhaustion(error), !paused {
            pause(context: context)
        }
        context.fireErrorCaught(error)
    }

    private func pause(context: ChannelHandlerContext) {
        guard let options = context.channel.syncOptions else { return }
        paused = true
        try? options.setOption(.autoRead, value: false)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: backoff) {
            let (handler, context) = bound.value
            handler.paused = false
            try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }

    private static func isResourceExhaustion(_ error: Error) -> Bool {
        guard let error = error as? IOError else { return false }
        return [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode)
    }
}
