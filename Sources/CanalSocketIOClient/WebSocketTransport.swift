import CanalEngineIOCore
import CanalWebSocket
import Logging
import NIOCore

/// One WebSocket of an Engine.IO client session (the one it opened with, or the upgrade
/// probe), on CanalWebSocket's event-loop client: one Engine.IO packet per message.
///
/// Used on its event loop only, by `EngineClientConnection`; the `@unchecked Sendable`
/// lets the connect callbacks (which run on that loop) refer to it.
final class WebSocketTransport: @unchecked Sendable {
    enum Event: CustomStringConvertible {
        case opened
        case packet(EnginePacket)
        /// A message that is not an Engine.IO packet.
        case garbage(String)
        /// Could not connect; says why.
        case failed(String)
        /// Closed after it had opened.
        case closed(String)

        var description: String {
            switch self {
            case .opened: return "opened"
            case .packet(let packet): return "packet \(packet)"
            case .garbage(let why), .failed(let why), .closed(let why): return why
            }
        }
    }

    let eventLoop: any EventLoop
    private var channel: (any Channel)?
    private var closeRequested = false
    private var finished = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Connects; `handler` gets every event on the event loop, `.failed` or `.closed` last.
    func open(
        url: String,
        server: SocketIOClientURL,
        configuration: WebSocketClientConfiguration,
        logger: Logger,
        handler: @escaping (WebSocketTransport, Event) -> Void
    ) {
        // The handler is only ever called on `eventLoop`, where it was made.
        let boundHandler = NIOLoopBound(handler, eventLoop: eventLoop)
        WebSocketClient.connect(
            to: url, configuration: configuration, eventLoopGroup: eventLoop, logger: logger,
            onEvent: { [self] in
                { event, _ in self.received(event, handler: boundHandler.value) }
            }
        ).whenComplete { [self] result in
            switch result {
            case .success(let connection):
                if closeRequested || finished {
                    connection.channel.close(promise: nil)
                    return
                }
                channel = connection.channel
                boundHandler.value(self, .opened)
            case .failure(let error):
                guard !finished else { return }
                finished = true
                boundHandler.value(self, .failed(TransportErrorText.describeWebSocket(error, url: server)))
            }
        }
    }

    private func received(_ event: WebSocketEvent, handler: (WebSocketTransport, Event) -> Void) {
        guard !finished else { return }
        switch event {
        case .message(let message):
            switch message.kind {
            case .text:
                do {
                    handler(self, .packet(try EnginePacket.decode(webSocketText: message.data)))
                } catch {
                    handler(self, .garbage("a WebSocket message is not an Engine.IO packet (\(error))"))
                }
            case .binary:
                handler(self, .packet(EnginePacket.decode(webSocketBinary: message.data)))
            }
        case .closed(let status):
            finished = true
            channel = nil
            var why: String
            if let error = status.error {
                why = "the WebSocket failed: \(error)"
            } else if status.code == .abnormalClosure {
                why = "the connection dropped (no WebSocket closing handshake)"
            } else {
                why = "the server closed the WebSocket (code \(status.code.rawValue)"
                why += status.reason.isEmpty ? ")" : ", reason \"\(status.reason)\")"
            }
            handler(self, .closed(why))
        case .ping, .pong, .closeReceived:
            break
        }
    }

    /// Sends packets, flushed once.
    func send(_ packets: [EnginePacket]) {
        guard let channel, !finished else { return }
        for packet in packets {
            let message: WebSocketMessage =
                packet.isBinary
                ? .binary(packet.data)
                : WebSocketMessage(kind: .text, data: packet.webSocketText())
            channel.write(WebSocketOutboundItem.message(message), promise: nil)
        }
        channel.flush()
    }

    /// Starts the closing handshake (1000); no event follows.
    func close() {
        closeRequested = true
        finished = true
        guard let channel else { return }
        self.channel = nil
        channel.writeAndFlush(WebSocketOutboundItem.close(code: .normalClosure, reason: ""), promise: nil)
    }
}
