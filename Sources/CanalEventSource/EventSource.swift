import CanalSSECore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A client for server-sent events, as a browser's `EventSource` behaves: it opens the
/// stream, hands over each event, and when the connection ends it waits (3 s, or what the
/// server asked with `retry:`) and reconnects with `Last-Event-ID`, so that a server that
/// keeps a history resumes where the client was.
///
/// ```swift
/// let source = try EventSource(url: "http://127.0.0.1:8080/dashboard/events")
/// for try await event in source.events() {
///     print(event.type, event.lastEventID, event.data)
/// }
/// ```
///
/// `updates()` also tells when the stream opens, drops and reconnects. Either sequence
/// finishes when the server answers 204 No Content or `close()` is called, and throws
/// `EventSourceError` when the source gives up (a status other than 200, a response that
/// is not `text/event-stream`, `maxReconnects` failed attempts). Read it from one task.
///
/// Built on SwiftNIO with `ServerSentEventParser`, which follows the WHATWG parsing rules
/// exactly (line ends, the space after the colon, `retry` digits, ids with NUL).
public final class EventSource: Sendable {
    public let url: String
    public let configuration: EventSourceConfiguration
    private let target: EventSourceURL
    private let group: any EventLoopGroup

    private struct State {
        var lastEventID: String
        var task: Task<Void, Never>?
        var closed = false
    }

    private let state: NIOLockedValueBox<State>

    /// Throws `EventSourceError.Kind.invalidURL` for anything but an `http://` or
    /// `https://` URL with a host.
    public init(
        url: String,
        configuration: EventSourceConfiguration = EventSourceConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        guard let target = EventSourceURL(url) else {
            throw EventSourceError(.invalidURL, "\(url) is not an http:// or https:// URL")
        }
        self.url = url
        self.target = target
        self.configuration = configuration
        self.group = eventLoopGroup
        self.state = NIOLockedValueBox(State(lastEventID: configuration.lastEventID ?? ""))
    }

    /// The id of the last event received: what the next connection sends as `Last-Event-ID`.
    public var lastEventID: String { state.withLockedValue { $0.lastEventID } }

    /// Stops: the sequence being read finishes, and no reconnection follows.
    public func close() {
        let task = state.withLockedValue { state -> Task<Void, Never>? in
            state.closed = true
            return state.task
        }
        task?.cancel()
    }

    /// The events alone.
    public func events() -> AsyncThrowingStream<ServerSentEventParser.Event, any Error> {
        let updates = self.updates()
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await update in updates {
                        if case .event(let event) = update { continuation.yield(event) }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Everything that happens: opens, events, disconnections and reconnections. Call it
    /// once; the connections start then.
    public func updates() -> AsyncThrowingStream<EventSourceUpdate, any Error> {
        let (stream, continuation) = AsyncThrowingStream<EventSourceUpdate, any Error>.makeStream()
        let task = Task { [self] in
            do {
                try await runLoop { continuation.yield($0) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        let closed = state.withLockedValue { state -> Bool in
            state.task = task
            return state.closed
        }
        if closed { task.cancel() }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func runLoop(_ yield: (EventSourceUpdate) -> Void) async throws(EventSourceError) {
        var parser = ServerSentEventParser(limits: configuration.limits, lastEventID: lastEventID)
        var failures = 0
        while !Task.isCancelled {
            let lastID = lastEventID
            let outcome = try await EventSourceConnection.run(
                url: target, configuration: configuration, lastEventID: lastID, parser: &parser, group: group
            ) { update in
                if case .event(let event) = update {
                    state.withLockedValue { $0.lastEventID = event.lastEventID }
                }
                yield(update)
            }
            // The id may also change without an event (an `id:` line, then a blank line).
            let parsedID = parser.lastEventID
            state.withLockedValue { $0.lastEventID = parsedID }
            guard case .ended(let wasOpen, let cleanly, let reason) = outcome else { return }
            if Task.isCancelled { return }
            yield(.disconnected(wasOpen: wasOpen, cleanly: cleanly, reason: reason))
            guard configuration.reconnects else { return }
            failures = wasOpen ? 0 : failures + 1
            if let limit = configuration.maxReconnects, failures > limit {
                throw EventSourceError(.gaveUp, "gave up after \(limit) failed reconnection attempts: \(reason)")
            }
            var delay = parser.reconnectionTime.map { Duration.milliseconds($0) } ?? configuration.reconnectionTime
            // WHATWG allows backing off: double the wait for each failed attempt in a row.
            for _ in 0..<min(failures, 16) where delay < configuration.maxReconnectionTime { delay *= 2 }
            delay = min(delay, configuration.maxReconnectionTime)
            yield(.reconnecting(after: delay, attempt: failures + 1))
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
        }
    }
}
