import CanalWebSocket
import NIOCore
import NIOHTTP1

extension HTTPServerHandler {
    /// Answers a request to a WebSocket route, once it has ended: 101 and the switch to
    /// WebSocket, or the refusal (invalid handshake, origin not allowed, `shouldUpgrade`).
    func upgradeToWebSocket(_ upgrader: WebSocketUpgrader, exchange: Exchange) {
        guard let context else { return }
        let channel = context.channel
        let remote = channel.remoteAddress
        let accepted: WebSocketUpgrader.Accepted
        switch upgrader.evaluate(exchange.head, remoteAddress: remote) {
        case .accepted(let value):
            accepted = value
        case .rejected(let rejection):
            var headers = rejection.headers
            headers.replaceOrAdd(name: "Content-Type", value: "text/plain; charset=utf-8")
            var response = HTTPResponse(
                status: rejection.status, headers: headers, body: ByteBuffer(string: rejection.body + "\n"))
            response.headers.replaceOrAdd(name: "Connection", value: "close")
            send(response, exchange: exchange, keepAlive: false)
            return
        }
        // The observer has nothing to watch in a WebSocket byte stream.
        channel.pipeline.syncOperations.removeHandler(observer, promise: nil)
        let readWasSuppressed = readSuppressed
        state = .upgraded
        headTimer?.cancel()
        headTimer = nil
        // The HTTP decoder stops parsing after an upgrade request, so nothing can be queued.
        queued.removeAll()
        let upgraded: WebSocketUpgrader.Upgraded
        do {
            upgraded = try upgrader.upgrade(accepted, context: context, encoder: encoder, decoder: decoder)
        } catch {
            // The upgrader has logged it and is closing the connection.
            return
        }
        if let session = upgraded.session { shared.onAsyncWebSocket(session) }
        let log = shared.accessLog
        if log.isEnabled {
            let head = exchange.head
            let started = exchange.started
            upgraded.closed.whenComplete { result in
                log.webSocketSession(remote: remote, head: head, started: started, closeStatus: try? result.get())
            }
        }
        // This handler held back a read while requests were queued; nobody else will ask.
        if readWasSuppressed { channel.read() }
    }
}
