import CanalEngineIO
import CanalSocketIOCore
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One client connected to one namespace: the `socket` of the official server.
///
/// ```swift
/// io.onConnection { socket in
///     socket.on("chat") { event in
///         io.emit("chat", event.arguments)        // to everybody
///     }
///     socket.onDisconnect { reason in print("left: \(reason)") }
/// }
/// ```
///
/// Handlers run on the socket's `eventLoop`, one at a time, in the order packets came.
/// Every method may be called from any thread or task; calls from elsewhere hop to the
/// loop.
///
/// Thread safety: the mutable members are touched only on `eventLoop` (except `data`,
/// which has its own lock), which makes the unchecked `Sendable` conformance sound.
public final class SocketIOSocket: @unchecked Sendable {
    /// The socket's id, which is also the room it is always in. Not the Engine.IO id.
    public private(set) var id: String
    public let namespace: SocketIONamespace
    public let handshake: SocketIOHandshakeInfo
    public let eventLoop: EventLoop
    /// True when connection state recovery gave this socket back its old id, rooms and data.
    public private(set) var recovered = false
    /// The private id a client sends back to recover its session (recovery on only).
    /// Cluster adapters copy sessions under it. Never send it to other clients.
    public private(set) var privateID: String?

    let connection: SocketIOConnection
    private let dataBox = NIOLockedValueBox<SocketIOValue>(.null)
    private var handlers: [String: [@Sendable (SocketIOEvent) -> Void]] = [:]
    private var anyIncoming: [@Sendable (SocketIOEvent) -> Void] = []
    private var anyOutgoing: [@Sendable (String, [SocketIOValue]) -> Void] = []
    private var packetMiddlewares: [@Sendable (SocketIOEvent) throws -> Void] = []
    private var errorHandlers: [@Sendable (Error) -> Void] = []
    private var disconnectingHandlers: [@Sendable (SocketIODisconnectReason) -> Void] = []
    private var disconnectHandlers: [@Sendable (SocketIODisconnectReason) -> Void] = []
    private var acks: [Int: PendingAck] = [:]
    private(set) var isConnected = false

    private struct PendingAck {
        var callback: @Sendable (Result<[SocketIOValue], SocketIOAckError>) -> Void
        var timer: Scheduled<Void>?
    }

    init(id: String, namespace: SocketIONamespace, connection: SocketIOConnection, handshake: SocketIOHandshakeInfo) {
        self.id = id
        self.namespace = namespace
        self.connection = connection
        self.handshake = handshake
        self.eventLoop = connection.eventLoop
    }

    /// Application data kept with the socket (`socket.data`); fetch-sockets shows it, and
    /// connection state recovery restores it.
    public var data: SocketIOValue {
        get { dataBox.withLockedValue { $0 } }
        set { dataBox.withLockedValue { $0 = newValue } }
    }

    /// The rooms the socket is in, its own id's among them.
    public var rooms: Set<String> { namespace.adapter.rooms(of: id) }

    /// True while the socket is connected to its namespace. Read it on `eventLoop`.
    public var connected: Bool { isConnected }

    private func onLoop(_ body: @escaping @Sendable () -> Void) {
        if eventLoop.inEventLoop { body() } else { eventLoop.execute(body) }
    }

    // MARK: Listening

    /// Calls `handler` for each `event` from the client.
    public func on(_ event: String, _ handler: @escaping @Sendable (SocketIOEvent) -> Void) {
        onLoop { self.handlers[event, default: []].append(handler) }
    }

    /// Calls `handler` with the event's first argument decoded, and the event.
    public func on<Value: Decodable & Sendable>(
        _ event: String, as type: Value.Type, _ handler: @escaping @Sendable (Value, SocketIOEvent) -> Void
    ) {
        on(event) { [weak self] received in
            do {
                handler(try received.decode(type), received)
            } catch {
                self?.report(error)
            }
        }
    }

    /// Runs an async handler in a task of its own for each `event`.
    public func on(_ event: String, task handler: @escaping @Sendable (SocketIOEvent) async throws -> Void) {
        on(event) { [weak self] received in
            Task {
                do { try await handler(received) } catch { self?.report(error) }
            }
        }
    }

    /// Removes every handler of `event`.
    public func off(_ event: String) {
        onLoop { self.handlers[event] = nil }
    }

    /// Sees every incoming event before its handlers (`onAny`).
    public func onAny(_ listener: @escaping @Sendable (SocketIOEvent) -> Void) {
        onLoop { self.anyIncoming.append(listener) }
    }

    /// Sees every outgoing event of this socket, broadcasts included (`onAnyOutgoing`).
    public func onAnyOutgoing(_ listener: @escaping @Sendable (String, [SocketIOValue]) -> Void) {
        onLoop { self.anyOutgoing.append(listener) }
    }

    /// A per-packet middleware (`socket.use`): throwing drops the event and reports the
    /// error to `onError`.
    public func use(_ middleware: @escaping @Sendable (SocketIOEvent) throws -> Void) {
        onLoop { self.packetMiddlewares.append(middleware) }
    }

    /// Errors from packet middlewares and typed handlers.
    public func onError(_ handler: @escaping @Sendable (Error) -> Void) {
        onLoop { self.errorHandlers.append(handler) }
    }

    /// Called when the socket is about to leave, still in its rooms.
    public func onDisconnecting(_ handler: @escaping @Sendable (SocketIODisconnectReason) -> Void) {
        onLoop { self.disconnectingHandlers.append(handler) }
    }

    /// Called once the socket has left its namespace.
    public func onDisconnect(_ handler: @escaping @Sendable (SocketIODisconnectReason) -> Void) {
        onLoop { self.disconnectHandlers.append(handler) }
    }

    private func report(_ error: Error) {
        onLoop {
            if self.errorHandlers.isEmpty {
                self.connection.logger.debug("! \(self.id): \(error)")
            }
            for handler in self.errorHandlers { handler(error) }
        }
    }

    // MARK: Emitting

    /// Emits an event to this client. Throws for a reserved name (`connect`, `disconnect`, ...).
    public func emit(_ event: String, _ arguments: any SocketIOArgument...) throws {
        try emit(event, arguments: arguments.map(\.socketIOValue))
    }

    public func emit(_ event: String, arguments: [SocketIOValue]) throws {
        guard !ReservedEvents.names.contains(event) else { throw SocketIOError.reserved(event) }
        send(event: event, arguments: arguments, ack: nil, timeout: nil)
    }

    /// `emit("message", ...)`, as `socket.send` is.
    public func send(_ arguments: any SocketIOArgument...) {
        send(arguments: arguments.map(\.socketIOValue))
    }

    public func send(arguments: [SocketIOValue]) {
        send(event: "message", arguments: arguments, ack: nil, timeout: nil)
    }

    /// Emits an event and waits for the client's acknowledgement.
    ///
    /// - Throws: `SocketIOAckError.timeout` when no answer comes within `timeout`,
    ///   `.disconnected` when the socket leaves first.
    public func emitWithAck(
        _ event: String, _ arguments: any SocketIOArgument..., timeout: TimeAmount? = nil
    ) async throws -> [SocketIOValue] {
        try await emitWithAck(event, arguments: arguments.map(\.socketIOValue), timeout: timeout)
    }

    public func emitWithAck(
        _ event: String, arguments: [SocketIOValue], timeout: TimeAmount? = nil
    ) async throws -> [SocketIOValue] {
        guard !ReservedEvents.names.contains(event) else { throw SocketIOError.reserved(event) }
        let promise = eventLoop.makePromise(of: [SocketIOValue].self)
        send(event: event, arguments: arguments, ack: { result in promise.completeWith(result.mapError { $0 }) }, timeout: timeout)
        return try await promise.futureResult.get()
    }

    /// Emits an event asking for an acknowledgement; `ack` gets the answer or the error.
    public func emit(
        _ event: String, arguments: [SocketIOValue], timeout: TimeAmount? = nil,
        ack: @escaping @Sendable (Result<[SocketIOValue], SocketIOAckError>) -> Void
    ) throws {
        guard !ReservedEvents.names.contains(event) else { throw SocketIOError.reserved(event) }
        send(event: event, arguments: arguments, ack: ack, timeout: timeout)
    }

    private func send(
        event: String, arguments: [SocketIOValue],
        ack: (@Sendable (Result<[SocketIOValue], SocketIOAckError>) -> Void)?, timeout: TimeAmount?
    ) {
        onLoop {
            guard self.isConnected else {
                ack?(.failure(.disconnected))
                return
            }
            var data = [SocketIOValue.string(event)]
            data.append(contentsOf: arguments)
            var packet = SocketIOPacket(type: .event, namespace: self.namespace.name, data: .array(data))
            if let ack {
                // Ids come from the namespace: broadcasts with acks use them too.
                let id = self.namespace.makeAckID()
                packet.id = id
                var pending = PendingAck(callback: ack, timer: nil)
                if let timeout {
                    pending.timer = self.eventLoop.scheduleTask(in: timeout) {
                        self.acks.removeValue(forKey: id)?.callback(.failure(.timeout))
                    }
                }
                self.acks[id] = pending
            } else if self.namespace.server.recoversSessions {
                // Through the adapter, so that the event is kept (with its offset) for a
                // client that drops and comes back.
                self.namespace.adapter.broadcast(packet, options: SocketIOBroadcastOptions(rooms: [self.id]))
                return
            }
            self.notifyOutgoing(packet)
            self.connection.write(SocketIOWirePacket(packet, shared: false), volatile: false)
        }
    }

    /// A broadcast reaches this socket (on its loop).
    func deliver(
        _ wire: SocketIOWirePacket, packet: SocketIOPacket, volatile: Bool,
        ack: (@Sendable ([SocketIOValue]) -> Void)?
    ) {
        guard isConnected else { return }
        if let ack, let id = packet.id {
            acks[id] = PendingAck(callback: { result in if case .success(let values) = result { ack(values) } }, timer: nil)
        }
        notifyOutgoing(packet)
        connection.write(wire, volatile: volatile)
    }

    private func notifyOutgoing(_ packet: SocketIOPacket) {
        guard !anyOutgoing.isEmpty, case .array(let data) = packet.data, case .string(let name) = data.first else {
            return
        }
        let arguments = Array(data.dropFirst())
        for listener in anyOutgoing { listener(name, arguments) }
    }

    // MARK: Rooms

    /// Joins rooms (`socket.join`).
    public func join(_ rooms: String...) {
        join(Set(rooms))
    }

    public func join(_ rooms: Set<String>) {
        namespace.adapter.join(id, rooms: rooms)
    }

    /// Leaves a room.
    public func leave(_ room: String) {
        namespace.adapter.leave(id, room: room)
    }

    /// Broadcasts to a room, without this socket (`socket.to(room).emit`).
    public func to(_ rooms: String...) -> SocketIOBroadcastOperator {
        broadcast.to(Set(rooms))
    }

    /// Broadcasts to every socket of the namespace but this one (`socket.broadcast`).
    public var broadcast: SocketIOBroadcastOperator {
        SocketIOBroadcastOperator(namespace: namespace, options: SocketIOBroadcastOptions(except: [id]))
    }

    // MARK: Disconnecting

    /// Leaves the namespace (the client sees "io server disconnect"); with `close`, closes
    /// the client's whole connection, every namespace on it.
    public func disconnect(close: Bool = false) {
        onLoop {
            guard self.isConnected else { return }
            if close {
                self.connection.disconnectAll()
            } else {
                self.connection.write(
                    SocketIOWirePacket(SocketIOPacket(type: .disconnect, namespace: self.namespace.name), shared: false),
                    volatile: false)
                self.closed(.serverNamespaceDisconnect)
            }
        }
    }

    // MARK: From the connection

    func connected(privateID: String?, restored: SocketIORestoredSession?) {
        eventLoop.assertInEventLoop()
        self.privateID = privateID
        if let restored {
            id = restored.snapshot.id
            recovered = true
            data = restored.snapshot.data
            namespace.adapter.join(id, rooms: restored.snapshot.rooms)
        }
        isConnected = true
        namespace.adapter.join(id, rooms: [id])
        namespace.sockets.add(self)
    }

    var remote: SocketIORemoteSocket {
        SocketIORemoteSocket(id: id, rooms: rooms, data: data, handshake: handshake)
    }

    func received(_ packet: SocketIOPacket) {
        eventLoop.assertInEventLoop()
        guard isConnected else { return }
        switch packet.type {
        case .event, .binaryEvent:
            receivedEvent(packet)
        case .ack, .binaryAck:
            guard let id = packet.id, let pending = acks.removeValue(forKey: id) else { return }
            pending.timer?.cancel()
            pending.callback(.success(packet.data?.arrayValue ?? []))
        case .disconnect:
            closed(.clientNamespaceDisconnect)
        case .connect, .connectError:
            break
        }
    }

    private func receivedEvent(_ packet: SocketIOPacket) {
        guard case .array(let data) = packet.data, case .string(let name) = data.first else { return }
        var ack: SocketIOAck?
        if let ackID = packet.id {
            let connection = self.connection
            let namespace = self.namespace.name
            let sent = NIOLockedValueBox(false)
            ack = SocketIOAck { arguments in
                guard !sent.withLockedValue({ was in defer { was = true }; return was }) else { return }
                let reply = SocketIOPacket(type: .ack, namespace: namespace, id: ackID, data: .array(arguments))
                connection.eventLoop.execute {
                    connection.write(SocketIOWirePacket(reply, shared: false), volatile: false)
                }
            }
        }
        let event = SocketIOEvent(name: name, arguments: Array(data.dropFirst()), ack: ack)
        connection.metrics.eventsReceived.increment()
        for middleware in packetMiddlewares {
            do { try middleware(event) } catch {
                report(error)
                return
            }
        }
        for listener in anyIncoming { listener(event) }
        for handler in handlers[name] ?? [] { handler(event) }
    }

    /// Leaves the namespace for `reason`: handlers run, rooms are left, pending acks fail.
    func closed(_ reason: SocketIODisconnectReason) {
        eventLoop.assertInEventLoop()
        guard isConnected else { return }
        for handler in disconnectingHandlers { handler(reason) }
        if let privateID, reason.isRecoverable, namespace.server.recoversSessions {
            namespace.adapter.persistSession(
                SocketIOSessionSnapshot(id: id, privateID: privateID, rooms: rooms.subtracting([id]), data: data))
        }
        isConnected = false
        namespace.adapter.leaveAll(id)
        namespace.sockets.remove(self)
        connection.removed(self)
        let pending = acks
        acks.removeAll()
        for (_, ack) in pending {
            ack.timer?.cancel()
            ack.callback(.failure(.disconnected))
        }
        namespace.recordDisconnect(reason)
        for handler in disconnectHandlers { handler(reason) }
        handlers.removeAll()
        anyIncoming.removeAll()
        anyOutgoing.removeAll()
        disconnectHandlers.removeAll()
        disconnectingHandlers.removeAll()
    }
}
