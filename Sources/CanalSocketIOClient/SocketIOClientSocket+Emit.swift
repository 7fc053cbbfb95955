import CanalSocketIOCore
import NIOConcurrencyHelpers
import NIOCore

/// Emitting: fire and forget, with an acknowledgement callback, or `emitWithAck` awaited.
extension SocketIOClientSocket {
    /// Names socket.io-client refuses to emit: they mean something to the socket itself.
    static let reservedEvents: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]

    static func checkName(_ event: String) throws(SocketIOClientError) {
        guard !reservedEvents.contains(event) else {
            throw SocketIOClientError(.reservedEvent, "\"\(event)\" is a reserved event name")
        }
    }

    /// Emits `event` with these arguments, each encoded (`Data` and `ByteBuffer` travel as
    /// binary attachments, `SocketIOValue` as it is). While the socket is not connected
    /// the emit waits in the offline buffer.
    ///
    ///     try socket.emit("chat", "hello", 42, Position(x: 1, y: 2))
    ///
    /// - Throws: `SocketIOClientError` `.reservedEvent` or `.coding`; nothing about the
    ///   network (a drop is reported through `onDrop` and `updates()`).
    public func emit<each Argument: Encodable>(_ event: String, _ arguments: repeat each Argument) throws {
        try emit(event, arguments: try SocketIOArguments.encode(repeat each arguments))
    }

    /// Emits `event` with arguments already in JSON form.
    public func emit(_ event: String, arguments: [SocketIOValue]) throws {
        try Self.checkName(event)
        eventLoop.execute {
            self.emitOnLoop(event, arguments: arguments, volatile: false, timeout: nil, ack: nil)
        }
    }

    /// Emits `event` and calls `ack` with the server's answer, or with an error: `.ackTimeout`
    /// after `timeout` (nil: the configuration's `ackTimeout`), `.disconnected` if the
    /// socket disconnects first, `.dropped` if the emit never left.
    public func emit(
        _ event: String, arguments: [SocketIOValue], timeout: TimeAmount? = nil,
        ack: @escaping @Sendable (Result<[SocketIOValue], SocketIOClientError>) -> Void
    ) throws {
        try Self.checkName(event)
        let limit = timeout ?? manager.configuration.ackTimeout
        eventLoop.execute {
            self.emitOnLoop(event, arguments: arguments, volatile: false, timeout: limit) { result in
                ack(result.mapError { $0 as? SocketIOClientError ?? SocketIOClientError(.disconnected, "\($0)") })
            }
        }
    }

    /// `send(...)`: emits `message`, as `socket.send` does.
    public func send<each Argument: Encodable>(_ arguments: repeat each Argument) throws {
        try emit("message", arguments: try SocketIOArguments.encode(repeat each arguments))
    }

    /// Emits `event` and waits for the server's acknowledgement: its arguments.
    ///
    /// - Parameter timeout: nil uses the configuration's `ackTimeout`.
    /// - Throws: `SocketIOClientError` (`.ackTimeout`, `.disconnected`, `.dropped`,
    ///   `.reservedEvent`, `.coding`), or `CancellationError` when the task is cancelled.
    public func emitWithAck<each Argument: Encodable>(
        _ event: String, _ arguments: repeat each Argument, timeout: TimeAmount? = nil
    ) async throws -> [SocketIOValue] {
        try await emitWithAck(event, arguments: try SocketIOArguments.encode(repeat each arguments), timeout: timeout)
    }

    /// Emits `event` and decodes the first argument of the acknowledgement as a `Result`
    /// (socket.io-client's `emitWithAck` resolves with the first argument too).
    ///
    ///     let reply = try await socket.emitWithAck("join", room, returning: JoinReply.self)
    public func emitWithAck<each Argument: Encodable, Answer: Decodable>(
        _ event: String, _ arguments: repeat each Argument, returning type: Answer.Type, timeout: TimeAmount? = nil
    ) async throws -> Answer {
        let answer = try await emitWithAck(
            event, arguments: try SocketIOArguments.encode(repeat each arguments), timeout: timeout)
        return try SocketIOArguments.decode(type, from: answer, event: event)
    }

    /// Emits `event` with arguments already in JSON form and waits for the acknowledgement.
    public func emitWithAck(
        _ event: String, arguments: [SocketIOValue], timeout: TimeAmount? = nil
    ) async throws -> [SocketIOValue] {
        try Self.checkName(event)
        try Task.checkCancellation()
        let limit = timeout ?? manager.configuration.ackTimeout
        // The ack id, once given, and whether the task was cancelled before that.
        let registration = NIOLockedValueBox<(id: Int?, cancelled: Bool)>((nil, false))
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                eventLoop.execute {
                    self.emitOnLoop(
                        event, arguments: arguments, volatile: false, timeout: limit,
                        ack: { continuation.resume(with: $0) },
                        registered: { id in
                            registration.withLockedValue { state in
                                state.id = id
                                return !state.cancelled
                            }
                        })
                }
            }
        } onCancel: {
            let id = registration.withLockedValue { state in
                state.cancelled = true
                return state.id
            }
            if let id {
                eventLoop.execute { self.cancelAck(id: id, error: CancellationError()) }
            }
        }
    }

    /// Emits that are dropped rather than buffered when they cannot leave at once (not
    /// connected, or the transport busy): for data that is stale when late, such as
    /// positions. `socket.volatile.emit("position", x, y)`.
    public var volatile: SocketIOClientVolatileEmitter { SocketIOClientVolatileEmitter(socket: self) }
}

/// Volatile emits of one socket: see `SocketIOClientSocket.volatile`.
public struct SocketIOClientVolatileEmitter: Sendable {
    let socket: SocketIOClientSocket

    public func emit<each Argument: Encodable>(_ event: String, _ arguments: repeat each Argument) throws {
        try emit(event, arguments: try SocketIOArguments.encode(repeat each arguments))
    }

    public func emit(_ event: String, arguments: [SocketIOValue]) throws {
        try SocketIOClientSocket.checkName(event)
        socket.eventLoop.execute {
            socket.emitOnLoop(event, arguments: arguments, volatile: true, timeout: nil, ack: nil)
        }
    }
}
