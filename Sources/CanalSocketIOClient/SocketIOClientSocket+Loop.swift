import CanalEngineIOCore
import CanalSocketIOCore
import NIOCore

/// What the manager tells a socket, and how the socket carries out its state's actions.
/// Everything here runs on the manager's event loop.
extension SocketIOClientSocket {
    func connectOnLoop(engineOpen: Bool) {
        let auth = self.auth
        perform(loop.value.state.connect(engineOpen: engineOpen, auth: auth, now: .now()))
    }

    var isActiveOnLoop: Bool { loop.value.state.isActive }

    func engineOpened() {
        let auth = self.auth
        perform(loop.value.state.engineOpened(auth: auth, now: .now()))
    }

    /// The connection ended. A socket still waiting for its CONNECT answer hears of it as a
    /// failed connection; a connected one as a disconnection.
    func engineClosed(_ reason: SocketIOClientDisconnectReason, detail: String?, willRetry: Bool) {
        let wasConnecting: Bool
        if case .connecting = loop.value.state.status { wasConnecting = true } else { wasConnecting = false }
        loop.value.disconnectDetail = detail
        perform(loop.value.state.engineClosed(reason))
        loop.value.disconnectDetail = nil
        if wasConnecting {
            var message = "the connection ended (\(reason.rawValue)) before \(namespace) answered the CONNECT"
            if let detail { message += ": \(detail)" }
            connectFailed(SocketIOClientError(.connectionFailed, message), willRetry: willRetry)
        }
    }

    func received(_ packet: SocketIOPacket) {
        perform(loop.value.state.received(packet, now: .now()))
    }

    /// The manager could not open its connection.
    func connectFailed(_ error: SocketIOClientError, willRetry: Bool) {
        guard loop.value.state.isActive else { return }
        if !willRetry { deactivate() }
        listeners.withLockedValue { $0.connectError }.forEach { $0(error) }
        subscribers.yield(.connectError(error, willRetry: willRetry))
    }

    /// The manager will not connect this socket again (it gave up, or it closed).
    func deactivate() {
        loop.value.state.deactivate()
        snapshot.withLockedValue { $0.isActive = false }
    }

    /// A manager-wide update (reconnection attempts, transport upgrades).
    func publish(_ update: SocketIOClientUpdate) {
        subscribers.yield(update)
    }

    /// Emits, answers and CONNECTs from the application, already checked.
    func emitOnLoop(
        _ event: String, arguments: [SocketIOValue], volatile: Bool, timeout: TimeAmount?,
        ack: (@Sendable (Result<[SocketIOValue], any Error>) -> Void)?, registered: (@Sendable (Int) -> Bool)? = nil
    ) {
        let writable = manager.isWritableOnLoop
        let (ackID, actions) = loop.value.state.emit(
            event, arguments: arguments, wantsAck: ack != nil, ackTimeout: timeout, volatile: volatile,
            writable: writable, now: .now())
        if let ackID, let ack {
            loop.value.acks[ackID] = ack
            // The task waiting for it was cancelled before it got here.
            if let registered, !registered(ackID) { cancelAck(id: ackID, error: CancellationError()) }
        }
        perform(actions)
    }

    /// Stops waiting for an ack and fails its callback with `error`.
    func cancelAck(id: Int, error: any Error) {
        loop.value.state.forgetAck(id: id)
        loop.value.acks.removeValue(forKey: id)?(.failure(error))
        scheduleTimer()
    }

    func sendAck(id: Int, arguments: [SocketIOValue]) {
        guard let packet = loop.value.state.ackPacket(id: id, arguments: arguments) else { return }
        manager.write(packet)
    }

    // MARK: Actions

    func perform(_ actions: [SocketIOClientSocketState.Action]) {
        for action in actions {
            switch action {
            case .send(let packet):
                manager.write(packet)
                notifyOutgoing(packet)
            case .connected(let id, let privateID, let recovered):
                let info = SocketIOClientConnectInfo(
                    namespace: namespace, id: id, privateID: privateID, recovered: recovered,
                    transport: manager.transportOnLoop ?? .polling)
                snapshot.withLockedValue { snapshot in
                    snapshot.id = id
                    snapshot.recovered = recovered
                    snapshot.isActive = true
                }
                listeners.withLockedValue { $0.connect }.forEach { $0(info) }
                subscribers.yield(.connected(info))
            case .connectError(let error):
                // From the state: a refusal or an unanswered CONNECT; the socket stops here.
                snapshot.withLockedValue { $0.isActive = false }
                listeners.withLockedValue { $0.connectError }.forEach { $0(error) }
                subscribers.yield(.connectError(error, willRetry: false))
                manager.socketBecameInactive()
            case .disconnected(let reason):
                let active = loop.value.state.isActive
                let willReconnect = reason.reconnects && manager.configuration.reconnection.isEnabled && active
                snapshot.withLockedValue { snapshot in
                    snapshot.id = nil
                    snapshot.isActive = active
                }
                listeners.withLockedValue { $0.disconnect }.forEach { $0(reason) }
                subscribers.yield(
                    .disconnected(reason, willReconnect: willReconnect, detail: loop.value.disconnectDetail))
                if reason == .ioServerDisconnect { manager.socketBecameInactive() }
            case .event(let name, let arguments, let ackID, let offset):
                deliver(name: name, arguments: arguments, ackID: ackID, offset: offset)
            case .ackReceived(let id, let arguments):
                loop.value.acks.removeValue(forKey: id)?(.success(arguments))
            case .ackFailed(let id, let error):
                loop.value.acks.removeValue(forKey: id)?(.failure(error))
            case .dropped(let emit, _):
                snapshot.withLockedValue { $0.droppedCount += 1 }
                listeners.withLockedValue { $0.drop }.forEach { $0(emit) }
                subscribers.yield(.dropped(emit))
            }
        }
        scheduleTimer()
    }

    private func deliver(name: String, arguments: [SocketIOValue], ackID: Int?, offset: String?) {
        var ack: SocketIOClientAck?
        if let ackID {
            ack = SocketIOClientAck { [self] answer in
                eventLoop.execute { self.sendAck(id: ackID, arguments: answer) }
            }
        }
        let event = SocketIOClientEvent(namespace: namespace, name: name, arguments: arguments, offset: offset, ack: ack)
        let (named, any) = listeners.withLockedValue { ($0.events[name] ?? [], $0.any) }
        for listener in named { listener.handler(event) }
        for listener in any { listener.handler(event) }
        subscribers.yield(.event(event))
    }

    private func notifyOutgoing(_ packet: SocketIOPacket) {
        guard packet.type == .event, case .array(let data)? = packet.data, case .string(let name)? = data.first else {
            return
        }
        let handlers = listeners.withLockedValue { $0.anyOutgoing }
        guard !handlers.isEmpty else { return }
        let arguments = Array(data.dropFirst())
        for handler in handlers { handler(name, arguments) }
    }

    // MARK: Time

    func scheduleTimer() {
        let deadline = loop.value.state.nextDeadline
        guard deadline != loop.value.timerDeadline else { return }
        loop.value.timer?.cancel()
        loop.value.timerDeadline = deadline
        guard let deadline else {
            loop.value.timer = nil
            return
        }
        loop.value.timer = eventLoop.scheduleTask(deadline: deadline) { [self] in
            loop.value.timer = nil
            loop.value.timerDeadline = nil
            perform(loop.value.state.tick(now: .now()))
        }
    }
}
