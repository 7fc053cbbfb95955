import CanalEngineIO
import CanalEngineIOCore
import CanalSocketIOCore
import Logging
import NIOCore

/// One Engine.IO session seen by Socket.IO (the official server's `Client`): decodes its
/// packets, routes them to the sockets of its namespaces, and writes theirs.
///
/// Thread safety: used on the session's event loop only.
final class SocketIOConnection: @unchecked Sendable {
    let engine: EngineSocket
    let server: SocketIOServer
    var eventLoop: EventLoop { engine.eventLoop }
    var logger: Logger { server.logger }
    var metrics: SocketIOMetrics { server.metrics }
    private var decoder: SocketIOPacketDecoder
    private var sockets: [String: SocketIOSocket] = [:]
    /// Namespaces whose CONNECT is being decided (middlewares running).
    private var connecting: Set<String> = []
    private var connectTimer: Scheduled<Void>?
    private var isClosed = false

    init(engine: EngineSocket, server: SocketIOServer) {
        self.engine = engine
        self.server = server
        self.decoder = SocketIOPacketDecoder(limits: server.options.decoderLimits)
    }

    func start() {
        engine.onMessage = { [self] message in received(message) }
        engine.onClose = { [self] reason in engineClosed(reason) }
        // A client that joins no namespace in time is let go.
        connectTimer = eventLoop.scheduleTask(in: server.options.connectTimeout) { [weak self] in
            guard let self, self.sockets.isEmpty else { return }
            self.logger.debug("! \(self.engine.id): no namespace joined within the connect timeout")
            self.engine.close()
        }
    }

    // MARK: In

    private func received(_ message: EngineMessage) {
        let packet: SocketIOPacket?
        do {
            switch message {
            case .text(let text): packet = try decoder.decode(text: text)
            case .binary(let data): packet = try decoder.decode(binary: data)
            }
        } catch {
            logger.debug("! \(engine.id): \(error); closing")
            close(.parseError)
            return
        }
        guard let packet else { return }
        let name = packet.namespace
        let socket = sockets[name]
        switch packet.type {
        case .connect:
            if socket == nil, !connecting.contains(name) {
                connect(packet)
                return
            }
        case .event, .binaryEvent, .ack, .binaryAck, .disconnect:
            if let socket {
                socket.received(packet)
                return
            }
        case .connectError:
            break
        }
        // As the official server: a packet for a namespace the client has not joined (or a
        // second CONNECT, or a CONNECT_ERROR from a client) ends the connection.
        logger.debug("! \(engine.id): \(packet.type) for \(name) in an invalid state; closing")
        close(.forcedServerClose)
    }

    private func connect(_ packet: SocketIOPacket) {
        let name = packet.namespace
        // The official server hands the application `{}` when the client sent no auth.
        var auth = packet.data ?? .object(SocketIOObject())
        var privateID: String?
        var offset: String?
        if case .object(var object) = auth {
            // Recovery fields travel with the auth payload; the application sees the rest.
            if case .string(let pid)? = object["pid"], case .string(let lastOffset)? = object["offset"] {
                privateID = pid
                offset = lastOffset
            }
            object["pid"] = nil
            object["offset"] = nil
            auth = .object(object)
        }
        guard let namespace = server.namespace(named: name, auth: auth) else {
            write(SocketIOWirePacket(
                SocketIOPacket(type: .connectError, namespace: name, data: ["message": "Invalid namespace"]),
                shared: false), volatile: false)
            return
        }
        let handshake = SocketIOHandshakeInfo(engine: engine.request, auth: auth)
        let socket = SocketIOSocket(
            id: SocketIOServer.makeID(), namespace: namespace, connection: self, handshake: handshake)
        let recovery = server.options.connectionStateRecovery
        if !namespace.hasMiddlewares, recovery == nil || privateID == nil {
            // Nothing to wait for: join in this turn, before the next packet.
            finishConnect(socket, refusal: nil, restored: nil)
            return
        }
        connecting.insert(name)
        Task {
            var restored: SocketIORestoredSession?
            if recovery != nil, let privateID, let offset {
                restored = try? await namespace.adapter.restoreSession(privateID: privateID, offset: offset)
            }
            let refusal = await namespace.admit(
                socket, skipMiddlewares: restored != nil && recovery?.skipMiddlewares == true)
            self.eventLoop.execute {
                self.connecting.remove(name)
                self.finishConnect(socket, refusal: refusal, restored: restored)
            }
        }
    }

    private func finishConnect(_ socket: SocketIOSocket, refusal: SocketIOConnectError?, restored: SocketIORestoredSession?) {
        let name = socket.namespace.name
        guard !isClosed else { return }
        if let refusal {
            write(SocketIOWirePacket(
                SocketIOPacket(type: .connectError, namespace: name, data: refusal.packetData), shared: false),
                volatile: false)
            return
        }
        connectTimer?.cancel()
        connectTimer = nil
        let privateID = server.recoversSessions ? (restored?.snapshot.privateID ?? SocketIOServer.makeID()) : nil
        socket.connected(privateID: privateID, restored: restored)
        sockets[name] = socket
        var answer = SocketIOObject()
        answer["sid"] = .string(socket.id)
        if let privateID { answer["pid"] = .string(privateID) }
        write(SocketIOWirePacket(SocketIOPacket(type: .connect, namespace: name, data: .object(answer)), shared: false),
            volatile: false)
        for packet in restored?.missedPackets ?? [] {
            write(SocketIOWirePacket(packet, shared: false), volatile: false)
        }
        logger.info("= \(socket.id) joined \(name)\(restored != nil ? " (recovered)" : "")")
        socket.namespace.connected(socket)
    }

    // MARK: Out

    func write(_ wire: SocketIOWirePacket, volatile: Bool) {
        guard !isClosed else { return }
        for message in wire.messages {
            guard engine.send(message, volatile: volatile) else {
                // A volatile packet the client cannot take now, or a client let go as a slow
                // consumer: the rest of the packet (its attachments) goes nowhere either.
                metrics.droppedPackets.increment()
                return
            }
        }
        metrics.packetsSent.increment()
    }

    // MARK: Ending

    func removed(_ socket: SocketIOSocket) {
        if sockets[socket.namespace.name] === socket { sockets[socket.namespace.name] = nil }
    }

    /// Every socket leaves ("server namespace disconnect") and the connection closes.
    func disconnectAll() {
        for socket in Array(sockets.values) { socket.disconnect() }
        engine.close()
    }

    private func close(_ reason: SocketIODisconnectReason) {
        closeSockets(reason)
        engine.close()
    }

    private func engineClosed(_ reason: EngineCloseReason) {
        let mapped: SocketIODisconnectReason
        switch reason {
        case .transportClose: mapped = .transportClose
        case .transportError: mapped = .transportError
        case .pingTimeout: mapped = .pingTimeout
        case .parseError: mapped = .parseError
        case .forcedClose: mapped = server.isShuttingDown ? .serverShuttingDown : .serverDisconnect
        case .serverShutdown: mapped = .serverShuttingDown
        case .slowConsumer: mapped = .slowConsumer
        }
        closeSockets(mapped)
        isClosed = true
        connectTimer?.cancel()
        connectTimer = nil
    }

    private func closeSockets(_ reason: SocketIODisconnectReason) {
        for socket in Array(sockets.values) { socket.closed(reason) }
        sockets.removeAll()
    }
}
