import Logging
import NIOCore

/// Keeps a listening socket serving when accepting fails, as when the process is out of
/// file descriptors (EMFILE, ENFILE) or of kernel memory (ENOBUFS, ENOMEM): the error is
/// logged, accepting pauses for `backoff`, then resumes. Without it the listening socket
/// stays readable and the event loop retries at once, spinning a core until descriptors
/// free up. The connections waiting in the backlog are accepted once they do.
///
/// `WebSocketServer` and CanalHTTP's `HTTPServer` install it on their listening channel.
package enum AcceptErrorHandling {
    package static func install(
        on channel: Channel,
        logger: Logger,
        backoff: TimeAmount = .milliseconds(100)
    ) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(AcceptBackoffHandler(shouldForwardIOErrorCaught: true, backoffProvider: { _ in backoff }))
        try pipeline.addHandler(AcceptErrorLogger(logger: logger))
    }
}

/// Logs accept errors at warning level: the first at once, then at most one line a second
/// with the count since the last one.
final class AcceptErrorLogger: ChannelInboundHandler {
    typealias InboundIn = Channel

    private let logger: Logger
    private var lastLogged: NIODeadline?
    private var unlogged = 0

    init(logger: Logger) {
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let now = NIODeadline.now()
        if let lastLogged, now - lastLogged < .seconds(1) {
            unlogged += 1
        } else {
            let more = unlogged > 0 ? " (\(unlogged) more since the last report)" : ""
            logger.warning("! accept failed: \(error)\(more); retrying shortly")
            lastLogged = now
            unlogged = 0
        }
        context.fireErrorCaught(error)
    }
}
