import CanalSocketIOCore
import NIOConcurrencyHelpers
import NIOCore

/// A broadcast being described: rooms, exceptions and flags, then `emit`. Each call returns
/// a new operator, as in the official server:
///
/// ```swift
/// io.to("room1").except("room2").emit("news", headline)
/// socket.broadcast.volatile.emit("cursor", position)
/// let answers = try await io.timeout(.seconds(5)).emitWithAck("vote")
/// ```
public struct SocketIOBroadcastOperator: Sendable {
    let namespace: SocketIONamespace
    var options: SocketIOBroadcastOptions
    var ackTimeout: TimeAmount?

    init(namespace: SocketIONamespace, options: SocketIOBroadcastOptions = SocketIOBroadcastOptions()) {
        self.namespace = namespace
        self.options = options
    }

    /// Only sockets in these rooms (`to` and `in` are the same).
    public func to(_ rooms: String...) -> Self { to(Set(rooms)) }
    public func to(_ rooms: Set<String>) -> Self {
        var copy = self
        copy.options.rooms.formUnion(rooms)
        return copy
    }

    public func `in`(_ rooms: String...) -> Self { to(Set(rooms)) }

    /// Not the sockets in these rooms (a socket id is a room too).
    public func except(_ rooms: String...) -> Self { except(Set(rooms)) }
    public func except(_ rooms: Set<String>) -> Self {
        var copy = self
        copy.options.except.formUnion(rooms)
        return copy
    }

    /// Dropped for clients that cannot take it now.
    public var volatile: Self {
        var copy = self
        copy.options.flags.volatile = true
        return copy
    }

    /// This node only.
    public var local: Self {
        var copy = self
        copy.options.flags.local = true
        return copy
    }

    public func compress(_ compress: Bool) -> Self {
        var copy = self
        copy.options.flags.compress = compress
        return copy
    }

    /// How long `emitWithAck` waits for the clients.
    public func timeout(_ timeout: TimeAmount) -> Self {
        var copy = self
        copy.ackTimeout = timeout
        return copy
    }

    /// Emits to every socket the operator reaches. Throws for a reserved event name.
    public func emit(_ event: String, _ arguments: any SocketIOArgument...) throws {
        try emit(event, arguments: arguments.map(\.socketIOValue))
    }

    public func emit(_ event: String, arguments: [SocketIOValue]) throws {
        guard !ReservedEvents.names.contains(event) else { throw SocketIOError.reserved(event) }
        namespace.metrics.broadcasts.increment()
        namespace.broadcast(packet(event, arguments), options: options)
    }

    /// `emit("message", ...)`.
    public func send(_ arguments: any SocketIOArgument...) {
        namespace.broadcast(packet("message", arguments.map(\.socketIOValue)), options: options)
    }

    /// Emits asking every client for an acknowledgement, and returns their answers (each
    /// client's arguments) once all have answered.
    ///
    /// - Throws: `SocketIOAckError.timeout` when some did not answer within the timeout
    ///   (default 5 s); `SocketIOBroadcastAckTimeout` carries the answers that came.
    public func emitWithAck(_ event: String, _ arguments: any SocketIOArgument...) async throws -> [[SocketIOValue]] {
        try await emitWithAck(event, arguments: arguments.map(\.socketIOValue))
    }

    public func emitWithAck(_ event: String, arguments: [SocketIOValue]) async throws -> [[SocketIOValue]] {
        guard !ReservedEvents.names.contains(event) else { throw SocketIOError.reserved(event) }
        var packet = packet(event, arguments)
        packet.id = namespace.makeAckID()
        let timeout = ackTimeout ?? .seconds(5)
        let loop = namespace.server.group.next()
        let promise = loop.makePromise(of: [[SocketIOValue]].self)
        let collector = AckCollector(promise: promise)
        let timer = loop.scheduleTask(in: timeout) { collector.timedOut() }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        namespace.adapter.broadcastWithAck(
            packet, options: options, timeout: timeout,
            expect: { count in collector.expect(count) },
            response: { answer in collector.add(answer) }
        )
        collector.expectationsDone()
        return try await promise.futureResult.get()
    }

    private func packet(_ event: String, _ arguments: [SocketIOValue]) -> SocketIOPacket {
        var data = [SocketIOValue.string(event)]
        data.append(contentsOf: arguments)
        return SocketIOPacket(type: .event, namespace: namespace.name, data: .array(data))
    }

    // MARK: Server-side utilities

    /// The sockets the operator reaches (`fetchSockets`), across nodes with a cluster adapter.
    public func fetchSockets() async throws -> [SocketIORemoteSocket] {
        try await namespace.adapter.fetchSockets(options)
    }

    /// Makes the sockets join rooms (`socketsJoin`).
    public func socketsJoin(_ rooms: String...) {
        namespace.adapter.addSockets(options, rooms: Set(rooms))
    }

    /// Makes the sockets leave rooms (`socketsLeave`).
    public func socketsLeave(_ rooms: String...) {
        namespace.adapter.removeSockets(options, rooms: Set(rooms))
    }

    /// Disconnects the sockets (`disconnectSockets`); with `close`, their whole connections.
    public func disconnectSockets(close: Bool = false) {
        namespace.adapter.disconnectSockets(options, close: close)
    }
}

/// The answers came for some clients only.
public struct SocketIOBroadcastAckTimeout: Error, Sendable, Hashable, CustomStringConvertible {
    public var responses: [[SocketIOValue]]
    public var description: String { "operation has timed out (\(responses.count) answers came)" }
}

/// Gathers the answers of a broadcast with acks; complete once every expected one came.
final class AckCollector: Sendable {
    private struct State {
        var expected = 0
        var responses: [[SocketIOValue]] = []
        var counting = true
        var done = false
    }

    private let state = NIOLockedValueBox(State())
    private let promise: EventLoopPromise<[[SocketIOValue]]>

    init(promise: EventLoopPromise<[[SocketIOValue]]>) {
        self.promise = promise
    }

    func expect(_ count: Int) {
        state.withLockedValue { $0.expected += count }
    }

    func add(_ response: [SocketIOValue]) {
        let result = state.withLockedValue { state -> [[SocketIOValue]]? in
            guard !state.done else { return nil }
            state.responses.append(response)
            return finishIfComplete(&state)
        }
        if let result { promise.succeed(result) }
    }

    func expectationsDone() {
        let result = state.withLockedValue { state -> [[SocketIOValue]]? in
            state.counting = false
            return finishIfComplete(&state)
        }
        if let result { promise.succeed(result) }
    }

    func timedOut() {
        let responses = state.withLockedValue { state -> [[SocketIOValue]]? in
            guard !state.done else { return nil }
            state.done = true
            return state.responses
        }
        if let responses { promise.fail(SocketIOBroadcastAckTimeout(responses: responses)) }
    }

    private func finishIfComplete(_ state: inout State) -> [[SocketIOValue]]? {
        guard !state.done, !state.counting, state.responses.count >= state.expected else { return nil }
        state.done = true
        return state.responses
    }
}
