import CanalSSECore
import NIOConcurrencyHelpers
import NIOCore

/// Sends the same events to every stream added to it, serialising each event once, and
/// keeps the last few so that a client that reconnects with `Last-Event-ID` gets what it
/// missed, exactly once.
///
/// ```swift
/// let feed = EventStreamBroadcaster(history: 100)
/// router.eventStream("/feed") { _, stream in
///     feed.add(stream)                  // replays what came after stream.lastEventID
///     await stream.waitUntilEnded()     // the broadcaster forgets the stream then
/// }
/// try feed.broadcast(ServerSentEvent(id: "7", data: "hello"))
/// ```
///
/// Each event goes to each event loop in one task that writes it to that loop's streams,
/// in the order `broadcast` was called. A slow stream does not hold the others back: it
/// meets the server's slow-client policy (`EventStreamConfiguration`).
public final class EventStreamBroadcaster: Sendable {
    /// What `add` could replay for the stream's `Last-Event-ID`.
    public enum Resumption: Sendable, Hashable {
        /// No `Last-Event-ID`: the stream starts with the next event.
        case fresh
        /// The id was found: this many later events were sent again.
        case replayed(Int)
        /// The id is not in the history (too old, or from before a restart): nothing was
        /// replayed, and the stream starts with the next event.
        case unknownID
    }

    private struct Group {
        var eventLoop: EventLoop
        var streams: [ObjectIdentifier: EventStream] = [:]
    }

    private struct State {
        var groups: [ObjectIdentifier: Group] = [:]
        var count = 0
        var history: [EncodedServerSentEvent] = []
        var historyStart = 0
    }

    /// How many past events are kept for resumption.
    public let historyLimit: Int
    private let state = NIOLockedValueBox(State())

    /// - Parameter history: events kept for clients that reconnect; only events with an
    ///   `id` can be resumed after. 0 keeps none.
    public init(history: Int = 0) {
        self.historyLimit = max(0, history)
    }

    /// Streams currently subscribed.
    public var subscriberCount: Int { state.withLockedValue { $0.count } }

    /// Subscribes `stream` until it ends, first sending the events of the history that
    /// follow its `Last-Event-ID`.
    @discardableResult
    public func add(_ stream: EventStream) -> Resumption {
        let key = ObjectIdentifier(stream)
        let loopKey = ObjectIdentifier(stream.eventLoop)
        let resumption = state.withLockedValue { state -> Resumption in
            state.groups[loopKey, default: Group(eventLoop: stream.eventLoop)].streams[key] = stream
            state.count += 1
            let live = state.history[state.historyStart...]
            guard let lastID = stream.lastEventID else { return .fresh }
            guard let index = live.lastIndex(where: { $0.id == lastID }) else { return .unknownID }
            let missed = Array(live[(index + 1)...])
            // Queued under the lock, so that no broadcast can slip in before the replay.
            if !missed.isEmpty {
                stream.eventLoop.execute {
                    for event in missed { stream.writeOnLoop(event.bytes) }
                }
            }
            return .replayed(missed.count)
        }
        stream.ended.whenComplete { [weak self] _ in self?.remove(stream) }
        return resumption
    }

    /// Unsubscribes `stream` (it stays open).
    public func remove(_ stream: EventStream) {
        let key = ObjectIdentifier(stream)
        let loopKey = ObjectIdentifier(stream.eventLoop)
        state.withLockedValue { state in
            guard state.groups[loopKey]?.streams.removeValue(forKey: key) != nil else { return }
            state.count -= 1
            if state.groups[loopKey]?.streams.isEmpty == true { state.groups[loopKey] = nil }
        }
    }

    /// Serialises `event` once and sends it to every subscriber; returns how many there
    /// were. Throws, sending nothing, when the event cannot be serialised.
    @discardableResult
    public func broadcast(_ event: ServerSentEvent) throws -> Int {
        broadcast(try EncodedServerSentEvent(event))
    }

    /// Sends an already serialised event to every subscriber; returns how many there were.
    @discardableResult
    public func broadcast(_ event: EncodedServerSentEvent) -> Int {
        let limit = historyLimit
        return state.withLockedValue { state in
            if limit > 0, event.id != nil {
                state.history.append(event)
                if state.history.count - state.historyStart > limit { state.historyStart += 1 }
                // Drop the forgotten prefix now and then rather than shifting every time.
                if state.historyStart >= limit {
                    state.history.removeFirst(state.historyStart)
                    state.historyStart = 0
                }
            }
            for group in state.groups.values {
                let streams = Array(group.streams.values)
                let bytes = event.bytes
                group.eventLoop.execute {
                    for stream in streams { stream.writeOnLoop(bytes) }
                }
            }
            return state.count
        }
    }

    /// Ends every subscribed stream (`EventStream.finish()`).
    public func finishAll() {
        let streams = state.withLockedValue { state in state.groups.values.flatMap { $0.streams.values } }
        for stream in streams { stream.finish() }
    }
}
