import NIOConcurrencyHelpers

/// The async sequences a socket hands out (`updates()`, `events()`): each gets every
/// update from the moment it is made, through a buffer of `limit` entries; one that falls
/// further behind ends with `.slowConsumer` rather than hold memory without bound.
final class SocketIOClientSubscribers: Sendable {
    typealias Continuation = AsyncThrowingStream<SocketIOClientUpdate, any Error>.Continuation
    private let continuations = NIOLockedValueBox<(next: Int, all: [Int: Continuation], finished: Bool)>((0, [:], false))

    func subscribe(limit: Int) -> AsyncThrowingStream<SocketIOClientUpdate, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: SocketIOClientUpdate.self, throwing: (any Error).self, bufferingPolicy: .bufferingOldest(max(1, limit)))
        let id: Int? = continuations.withLockedValue { state in
            guard !state.finished else { return nil }
            defer { state.next += 1 }
            state.all[state.next] = continuation
            return state.next
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.continuations.withLockedValue { $0.all.removeValue(forKey: id) }
        }
        return stream
    }

    var isEmpty: Bool { continuations.withLockedValue { $0.all.isEmpty } }

    func yield(_ update: SocketIOClientUpdate) {
        let targets = continuations.withLockedValue { $0.all }
        for (id, continuation) in targets {
            if case .dropped = continuation.yield(update) {
                continuations.withLockedValue { _ = $0.all.removeValue(forKey: id) }
                continuation.finish(throwing: SocketIOClientError(
                    .slowConsumer, "updates were not read fast enough: the buffer of unread updates is full"))
            }
        }
    }

    /// Ends every sequence (the manager closed); later ones end at once.
    func finish() {
        let targets = continuations.withLockedValue { state in
            state.finished = true
            defer { state.all.removeAll() }
            return state.all
        }
        for continuation in targets.values { continuation.finish() }
    }
}

/// The events a socket receives, as an async sequence (`socket.events()`, or the second
/// argument of `SocketIOClient.connect`'s body). Connections and reconnections are not
/// part of it; it ends when the socket is disconnected by the application or the manager
/// closes, and throws when the socket is gone for another reason (`.disconnected` with the
/// reason, `.refused`, the last `.connectionFailed` when reconnection gave up) or when it is
/// read too slowly (`.slowConsumer`).
public struct SocketIOClientEvents: AsyncSequence, Sendable {
    public typealias Element = SocketIOClientEvent
    let updates: AsyncThrowingStream<SocketIOClientUpdate, any Error>

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<SocketIOClientUpdate, any Error>.AsyncIterator

        public mutating func next() async throws -> SocketIOClientEvent? {
            while let update = try await base.next() {
                switch update {
                case .event(let event):
                    return event
                case .disconnected(let reason, let willReconnect, _) where !willReconnect:
                    if reason == .ioClientDisconnect { return nil }
                    throw SocketIOClientError.disconnected(reason)
                default:
                    if let error = SocketIOClientEvents.connectFailure(update) { throw error }
                }
            }
            return nil
        }
    }

    /// The error of an update after which the socket will not connect again by itself: a
    /// refusal or failure not retried, or reconnection given up.
    static func connectFailure(_ update: SocketIOClientUpdate) -> SocketIOClientError? {
        switch update {
        case .connectError(let error, let willRetry) where !willRetry:
            return error
        case .reconnectFailed(let attempts):
            return SocketIOClientError(
                .connectionFailed, "gave up connecting after \(attempts) attempt\(attempts == 1 ? "" : "s")")
        default:
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: updates.makeAsyncIterator())
    }
}

/// Everything that happens to a socket, as an async sequence (`socket.updates()`). It ends
/// when the manager closes, and throws only `.slowConsumer`.
public struct SocketIOClientUpdates: AsyncSequence, Sendable {
    public typealias Element = SocketIOClientUpdate
    let stream: AsyncThrowingStream<SocketIOClientUpdate, any Error>

    public func makeAsyncIterator() -> AsyncThrowingStream<SocketIOClientUpdate, any Error>.AsyncIterator {
        stream.makeAsyncIterator()
    }
}
