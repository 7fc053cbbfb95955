import CanalEngineIOCore
import CanalSocketIOCore
import NIOCore

/// What the Engine.IO connection reports: Socket.IO packets in, the connection's end out.
extension SocketIOManager: EngineClientConnectionDelegate {
    func engineOpened(_ connection: EngineClientConnection, handshake: EngineHandshake) {
        guard connection === loop.value.engine else { return }
        loop.value.phase = .open
        loop.value.backoff.reset()
        for socket in activeSocketsOnLoop { socket.engineOpened() }
    }

    func engineReceived(_ connection: EngineClientConnection, message: EngineMessage) {
        guard connection === loop.value.engine else { return }
        let packet: SocketIOPacket?
        do {
            switch message {
            case .text(let text): packet = try loop.value.decoder.decode(text: text)
            case .binary(let data): packet = try loop.value.decoder.decode(binary: data)
            }
        } catch {
            // socket.io-client closes the connection with "parse error" (and reconnects).
            connection.protocolError("the server sent a packet that is not Socket.IO (\(error.message))")
            return
        }
        guard let packet else { return }
        let socket = socketOnLoop(packet.namespace)
        socket?.received(packet)
    }

    func engineUpgraded(_ connection: EngineClientConnection, to transport: EngineTransport) {
        guard connection === loop.value.engine else { return }
        for socket in activeSocketsOnLoop { socket.publish(.upgraded(transport)) }
    }

    func engineClosed(_ connection: EngineClientConnection, reason: EngineClientCloseReason, detail: String?) {
        guard connection === loop.value.engine else { return }
        loop.value.engine = nil
        let wasOpen: Bool
        switch loop.value.phase {
        case .open: wasOpen = true
        case .opening: wasOpen = false
        case .idle, .waiting, .closed: return
        }
        loop.value.phase = .idle
        let willRetry = configuration.reconnection.isEnabled
        if wasOpen {
            let disconnect = Self.disconnectReason(reason)
            for socket in sockets(all: true) { socket.engineClosed(disconnect, detail: detail, willRetry: willRetry) }
        } else {
            let error = Self.openFailure(reason, detail: detail, url: url)
            for socket in activeSocketsOnLoop {
                socket.connectFailed(error, willRetry: willRetry && loop.value.backoff.mayRetry)
            }
        }
        scheduleReconnection()
    }

    static func disconnectReason(_ reason: EngineClientCloseReason) -> SocketIOClientDisconnectReason {
        switch reason {
        case .forcedClose: return .ioClientDisconnect
        case .transportClose: return .transportClose
        case .transportError, .openTimeout: return .transportError
        case .pingTimeout: return .pingTimeout
        case .parseError: return .parseError
        }
    }

    static func openFailure(_ reason: EngineClientCloseReason, detail: String?, url: SocketIOClientURL)
        -> SocketIOClientError
    {
        switch reason {
        case .openTimeout:
            return SocketIOClientError(.timeout, "\(url.host):\(url.port) did not open a Socket.IO session in time")
        case .parseError:
            let why = detail ?? "its first answer was not an Engine.IO handshake"
            return SocketIOClientError(.connectionFailed, "\(url.host):\(url.port) does not speak Socket.IO: \(why)")
        case .forcedClose, .transportClose, .transportError, .pingTimeout:
            return SocketIOClientError(.connectionFailed, detail ?? "could not connect to \(url.host):\(url.port)")
        }
    }
}
