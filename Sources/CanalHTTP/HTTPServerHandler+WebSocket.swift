import CanalWebSocket
import NIOCore
import NIOHTTP1

extension HTTPServerHandler {
    func upgradeToWebSocket(_ upgrader: RouteUpgrader, exchange: Exchange) {
        guard let context else { return }
        let channel = context.channel
        let pipeline = channel.pipeline.syncOperations
        // The observer has nothing to watch in a WebSocket byte stream.
        _ = pipeline.removeHandler(observer)
        let readWasSuppressed = readSuppressed
        switch upgrader.upgrade(exchange.head, context: context) {
        case .upgraded(let closed):
            state = .upgraded
            headTimer?.cancel()
            // The HTTP decoder stops parsing after an upgrade request, so nothing can be queued.
            queued.removeAll()
            let log = shared.accessLog
            let head = exchange.head
            let remote = channel.remoteAddress
            let started = exchange.started
            if let closed {
                closed.whenComplete { result in
                    log.webSocketSession(remote: remote, head: head, started: started, closeStatus: try? result.get())
                }
            } else {
                channel.closeFuture.whenComplete { _ in
                    log.webSocketSession(remote: remote, head: head, started: started, closeStatus: nil)
                }
            }
            // The HTTP decoder hands the bytes that followed the request to the WebSocket
            // handler on the next event-loop tick, outside any read burst; that handler
            // flushes its answers when a burst ends, so end one right after (tasks run in
            // order).
            channel.eventLoop.execute { channel.pipeline.fireChannelReadComplete() }
            if readWasSuppressed { channel.read() }
        case .rejected(let rejection):
            var headers = rejection.headers
            headers.replaceOrAdd(name: "Content-Type", value: "text/plain; charset=utf-8")
            var response = HTTPResponse(
                status: rejection.status, headers: headers, body: ByteBuffer(string: rejection.body + "\n"))
            response.headers.replaceOrAdd(name: "Connection", value: "close")
            send(response, exchange: exchange, keepAlive: false)
        }
    }

    /// A plain-text answer naming the status.
}
