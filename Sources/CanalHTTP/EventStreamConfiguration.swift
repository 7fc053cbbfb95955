import NIOCore

/// Limits and timers of the server-sent event streams of one server
/// (`HTTPServerConfiguration.eventStream`).
///
/// **The slow-client policy.** Each stream counts the bytes it has handed to the socket
/// that the socket has not yet taken. A client that stops reading lets that count grow
/// only up to `maxBufferedBytes`; the next event that would go past it triggers
/// `slowClientPolicy`:
///
/// - `.disconnect` (the default) closes the connection. The client's `EventSource`
///   reconnects with `Last-Event-ID`, and an `EventStreamBroadcaster` with a history
///   replays what it missed, so a client that was only briefly slow loses nothing and one
///   that stays stuck costs at most `maxBufferedBytes` plus one event.
/// - `.dropEvents` keeps the connection and skips the events that do not fit, counting
///   them in `EventStream.droppedEvents`. For feeds where only the latest value matters.
///
/// Either way the server's memory per stream is bounded, and the other streams are not
/// held back: each event is written to each stream on its own.
public struct EventStreamConfiguration: Sendable, Hashable {
    public enum SlowClientPolicy: Sendable, Hashable {
        case disconnect
        case dropEvents
    }

    /// Bytes a stream may have waiting for a client that is slow to read. Default 256 KiB.
    public var maxBufferedBytes: Int
    public var slowClientPolicy: SlowClientPolicy
    /// A comment line (`:`) goes out after this long without any other write, so that
    /// proxies and load balancers do not close an idle stream. nil sends none. Default 15 s.
    public var heartbeatInterval: TimeAmount?
    /// Sent as `retry:` at the start of each stream, to set how long clients wait before
    /// reconnecting (browsers use about 3 s otherwise). nil sends none.
    public var retry: TimeAmount?

    public init(
        maxBufferedBytes: Int = 256 * 1024,
        slowClientPolicy: SlowClientPolicy = .disconnect,
        heartbeatInterval: TimeAmount? = .seconds(15),
        retry: TimeAmount? = nil
    ) {
        self.maxBufferedBytes = maxBufferedBytes
        self.slowClientPolicy = slowClientPolicy
        self.heartbeatInterval = heartbeatInterval
        self.retry = retry
    }
}
