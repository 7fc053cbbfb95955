import CanalEngineIO
import CanalHTTP
import CanalWebSocket
import NIOCore
import NIOHTTP1
import NIOPosix

extension EngineRedisForwarder {
    public func bridge(
        _ request: WebSocketUpgradeRequest, sessionID: String, socket: WebSocketLoopSocket
    ) -> WebSocketChannelHandler.EventCallback {
        // Called while the connection is being set up: the socket takes sends from the next
        // turn of its event loop on.
        guard let eventLoop = MultiThreadedEventLoopGroup.currentEventLoop else {
            preconditionFailure("bridge(_:sessionID:socket:) is called on the connection's event loop")
        }
        let bridge = EngineWebSocketBridge(client: socket, maxPendingBytes: options.maxPendingBytes)
        let bound = NIOLoopBound(bridge, eventLoop: eventLoop)
        var configuration = WebSocketClientConfiguration(compression: nil)
        configuration.handshakeTimeout = options.connectTimeout
        configuration.webSocket.maxMessageSize = options.maxMessageSize
        configuration.webSocket.maxFrameSize = options.maxMessageSize
        configuration.headers = Self.relayable(request.headers)
        for name in ["Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol"] {
            configuration.headers.remove(name: name)
        }
        configuration.headers.add(name: EngineServer.forwardedHeader, value: nodeID)
        if let client = request.remoteAddress?.ipAddress {
            configuration.headers.add(name: "X-Forwarded-For", value: client)
        }
        let uri = request.uri
        guard let owner = Self.owner(of: sessionID) else {
            eventLoop.execute { bound.value.ownerUnreachable() }
            return { event, _ in bridge.fromClient(event) }
        }
        eventLoop.makeFutureWithTask { await self.address(of: owner) }
            .flatMap { base -> EventLoopFuture<WebSocketEventLoopConnection> in
                guard let base else { return eventLoop.makeFailedFuture(OwnerGone()) }
                let url = (base.hasPrefix("https:") ? "wss:" + base.dropFirst(6) : "ws:" + base.dropFirst(5)) + uri
                return WebSocketClient.connect(to: url, configuration: configuration, eventLoopGroup: eventLoop) {
                    { event, _ in bound.value.fromOwner(event) }
                }
            }
            .whenComplete { result in
                switch result {
                case .success(let connection):
                    bound.value.connected(connection)
                case .failure(let error):
                    self.logger.debug("! bridging the WebSocket of \(sessionID): \(error)")
                    if !(error is OwnerGone) { self.forget(owner) }
                    bound.value.ownerUnreachable()
                }
            }
        return { event, _ in bridge.fromClient(event) }
    }

    struct OwnerGone: Error {}
}

/// A client's WebSocket joined to a WebSocket to its session's owner: messages both ways,
/// and the close of either side closes the other. Lives on the client connection's event
/// loop, which the owner connection shares.
final class EngineWebSocketBridge {
    private let client: WebSocketLoopSocket
    private let maxPendingBytes: Int
    private var owner: WebSocketEventLoopConnection?
    /// What the client sent before the owner's connection opened.
    private var pending: [WebSocketMessage] = []
    private var pendingBytes = 0
    private var finished = false

    init(client: WebSocketLoopSocket, maxPendingBytes: Int) {
        self.client = client
        self.maxPendingBytes = maxPendingBytes
    }

    func fromClient(_ event: WebSocketEvent) {
        switch event {
        case .message(let message):
            if let owner {
                owner.send(.message(message))
            } else if !finished {
                pending.append(message)
                pendingBytes += message.data.readableBytes
                if pendingBytes > maxPendingBytes { finish(clientCode: .messageTooBig) }
            }
        case .closeReceived(let code, let reason):
            finished = true
            owner?.send(.close(code: code ?? .normalClosure, reason: reason))
        case .closed:
            finished = true
            owner?.channel.close(promise: nil)
        case .ping, .pong:
            break
        }
    }

    func fromOwner(_ event: WebSocketEvent) {
        switch event {
        case .message(let message):
            if !finished { client.send(message) }
        case .closeReceived(let code, let reason):
            if !finished {
                finished = true
                client.close(code: code ?? .normalClosure, reason: reason)
            }
        case .closed:
            finish(clientCode: .goingAway)
        case .ping, .pong:
            break
        }
    }

    func connected(_ connection: WebSocketEventLoopConnection) {
        if finished {
            connection.send(.close(code: .goingAway, reason: ""))
            return
        }
        owner = connection
        for message in pending { connection.send(.message(message)) }
        pending = []
        pendingBytes = 0
    }

    /// The client then goes on (or falls back to) long-polling, or reconnects.
    func ownerUnreachable() {
        finish(clientCode: .goingAway)
    }

    private func finish(clientCode: WebSocketCloseCode) {
        guard !finished else { return }
        finished = true
        pending = []
        client.close(code: clientCode, reason: "")
        owner?.send(.close(code: .goingAway, reason: ""))
    }
}
