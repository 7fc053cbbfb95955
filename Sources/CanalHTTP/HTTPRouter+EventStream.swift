import NIOHTTP1

/// Writes the events of one stream. Runs in a task of its own; the response ends when it
/// returns (or throws), and the task is cancelled when the client goes away.
public typealias EventStreamHandler = @Sendable (HTTPRequest, EventStream) async throws -> Void

extension HTTPRouter {
    /// Answers `GET` requests for exactly `path` with a stream of server-sent events
    /// (`text/event-stream`, WHATWG HTML "Server-sent events") that stays open while
    /// `handler` runs.
    ///
    /// Use it to push updates to browsers (`new EventSource(url)`) or to any SSE client,
    /// when the client has nothing to send back: the connection is plain HTTP, so it passes
    /// proxies, and browsers reconnect by themselves with `Last-Event-ID`. Use a WebSocket
    /// route when the client talks too.
    ///
    /// - Parameters:
    ///   - accept: sees the request first, and may refuse it with any response (401, 404,
    ///     or 204 No Content, which tells a browser to stop reconnecting). Return nil to
    ///     open the stream.
    ///   - handler: writes to the stream. To serve many clients the same events, hand the
    ///     stream to an `EventStreamBroadcaster` and `await stream.waitUntilEnded()`.
    public mutating func eventStream(
        _ path: String,
        accept: @escaping @Sendable (HTTPRequest) async -> HTTPResponse? = { _ in nil },
        handler: @escaping EventStreamHandler
    ) {
        eventStreamRoutes[path] = EventStreamRoute(accept: accept, handler: handler)
    }

    /// Counts the requests and bytes of the route at `path`, whatever its kind (handler,
    /// event stream or WebSocket). See `HTTPTrafficMeter`.
    public mutating func meter(_ path: String, with meter: HTTPTrafficMeter) {
        meters[path] = meter
    }
}

/// One event-stream endpoint.
struct EventStreamRoute: Sendable {
    var accept: @Sendable (HTTPRequest) async -> HTTPResponse?
    var handler: EventStreamHandler
}
