import CanalSSECore
import NIOConcurrencyHelpers
import NIOCore

/// One open `text/event-stream` response: what a route registered with
/// `HTTPRouter.eventStream` writes its events to.
///
/// Every method may be called from any thread. Writes are put on the connection's event
/// loop in the order they were made, and never wait: a client that reads too slowly meets
/// the server's slow-client policy (`EventStreamConfiguration`) instead of growing its
/// buffer. Once the stream is closed, sends are ignored and return false.
///
/// ```swift
/// router.eventStream("/time") { request, stream in
///     var next = Int(stream.lastEventID ?? "") ?? 0
///     while stream.isOpen {
///         next += 1
///         try stream.send(ServerSentEvent(id: String(next), data: "tick \(next)"))
///         try await Task.sleep(for: .seconds(1))
///     }
/// }
/// ```
public final class EventStream: Sendable {
    /// Why a stream ended.
    public enum End: Sendable, Hashable {
        /// The application finished it (`finish()`, or its handler returned).
        case finished
        /// The client closed the connection, or it failed.
        case disconnected
        /// The client read too slowly and the policy was `.disconnect`.
        case tooSlow
        /// The server is shutting down.
        case serverShutdown
    }

    /// The request that opened the stream.
    public let request: HTTPRequest
    /// The `Last-Event-ID` header of the request: the id of the last event this client
    /// received before it reconnected, or nil on a first connection.
    public let lastEventID: String?
    /// The connection's event loop: sends made on it are written at once.
    public let eventLoop: EventLoop

    private struct State {
        var end: End?
        var droppedEvents = 0
    }

    private let state = NIOLockedValueBox(State())
    private let writer: NIOLoopBound<HTTPServerHandler>
    private let endPromise: EventLoopPromise<End>

    init(request: HTTPRequest, handler: HTTPServerHandler, eventLoop: EventLoop) {
        self.request = request
        // WHATWG: the header carries the last event ID string, which may be empty.
        self.lastEventID = request.headers.first(name: "Last-Event-ID")
        self.eventLoop = eventLoop
        self.writer = NIOLoopBound(handler, eventLoop: eventLoop)
        self.endPromise = eventLoop.makePromise(of: End.self)
    }

    /// True until the stream ends, for whatever reason.
    public var isOpen: Bool { state.withLockedValue { $0.end == nil } }

    /// Completes with the reason once the stream has ended.
    public var ended: EventLoopFuture<End> { endPromise.futureResult }

    /// Suspends until the stream ends, and tells why. A handler that hands its stream to an
    /// `EventStreamBroadcaster` awaits this to keep the response open.
    @discardableResult
    public func waitUntilEnded() async -> End {
        (try? await endPromise.futureResult.get()) ?? .disconnected
    }

    /// Events skipped under the `.dropEvents` policy.
    public var droppedEvents: Int { state.withLockedValue { $0.droppedEvents } }

    /// Sends one event. Throws only for an event that cannot be serialised (a line break
    /// in `event` or `id`); returns false once the stream is closed.
    @discardableResult
    public func send(_ event: ServerSentEvent) throws -> Bool {
        send(try EncodedServerSentEvent(event))
    }

    /// Sends an event serialised beforehand (the same one to many streams).
    @discardableResult
    public func send(_ event: EncodedServerSentEvent) -> Bool {
        write(event.bytes)
    }

    /// Sends a comment: clients ignore it. Heartbeats are sent for you
    /// (`EventStreamConfiguration.heartbeatInterval`).
    @discardableResult
    public func comment(_ text: String = "") -> Bool {
        var buffer = ByteBuffer()
        ServerSentEventEncoder.comment(text, into: &buffer)
        return write(buffer)
    }

    /// Ends the response. The connection stays open for the next request (keep-alive);
    /// the client's `EventSource` will reconnect after its retry delay, unless the
    /// application answers that request with 204 No Content.
    public func finish() {
        let writer = self.writer
        let stream = self
        execute { writer.value.finishEventStream(stream, reason: .finished) }
    }

    // MARK: For the server

    /// Puts bytes on the loop in call order; false once closed.
    func write(_ bytes: ByteBuffer) -> Bool {
        guard isOpen else { return false }
        let writer = self.writer
        let stream = self
        execute { writer.value.writeEventStream(bytes, to: stream) }
        return true
    }

    /// Runs `work` on the loop: at once when already there, else queued behind what was
    /// queued before, so writes keep their order.
    private func execute(_ work: @escaping @Sendable () -> Void) {
        if eventLoop.inEventLoop {
            work()
        } else {
            eventLoop.execute(work)
        }
    }

    /// Writes at once; for callers already on `eventLoop` (the broadcaster). A stream that
    /// has ended is no longer its connection's, so the write is dropped there.
    func writeOnLoop(_ bytes: ByteBuffer) {
        writer.value.writeEventStream(bytes, to: self)
    }

    func countDroppedEvent() {
        state.withLockedValue { $0.droppedEvents += 1 }
    }

    /// Marks the stream ended; true the first time.
    func markEnded(_ end: End) -> Bool {
        let first = state.withLockedValue { state -> Bool in
            guard state.end == nil else { return false }
            state.end = end
            return true
        }
        if first { endPromise.succeed(end) }
        return first
    }
}
