/// How many bytes an async handler may have sent on one connection that are not yet
/// written to the socket, before its sends suspend.
///
/// `WebSocketOutbound` counts the payload of every message, fragment, ping and pong from
/// the moment it is sent until NIO has handed its frame to the socket. Once that count
/// goes above `highWaterMark`, further sends suspend until it falls to `lowWaterMark`.
/// So a peer that reads slowly, or not at all, costs the server at most about
/// `highWaterMark` plus one message per connection, however fast the handler sends.
///
/// The defaults (1 MiB high, 512 KiB low) hold a few messages of the default maximum
/// size (1 MiB), so a handler streaming to a healthy peer rarely waits here: NIO's own
/// write-buffer marks (64 KiB by default) already pause it once the socket stops taking
/// bytes, and this bound only catches what gets queued before that pause takes effect.
/// Waking at half the mark rather than just under it keeps the socket busy while the
/// woken senders refill the queue, and wakes them in batches rather than one per write.
/// Lower both for servers with many slow clients and small messages; raise them for
/// bulk transfers where memory is plentiful.
///
/// Event-loop handlers (`WebSocketServerHandler.eventLoop`) are not bounded by this: they
/// see every write's completion and pace themselves.
public struct WebSocketOutboundBufferLimits: Sendable, Hashable {
    /// Sends suspend while more than this many payload bytes are waiting. Default 1 MiB.
    public var highWaterMark: Int
    /// Suspended sends resume once the waiting bytes fall to this. Default 512 KiB.
    public var lowWaterMark: Int

    /// Values out of range are brought into it rather than trapping: a negative mark
    /// counts as 0, and a low mark above the high one as the high one.
    ///
    /// - Parameters:
    ///   - highWaterMark: default 1 MiB.
    ///   - lowWaterMark: default half the high mark, at most 512 KiB, so that lowering
    ///     only the high mark is enough.
    public init(highWaterMark: Int = 1 << 20, lowWaterMark: Int? = nil) {
        self.highWaterMark = highWaterMark
        self.lowWaterMark = lowWaterMark ?? min(512 << 10, max(0, highWaterMark) / 2)
        (self.highWaterMark, self.lowWaterMark) = inRange
    }

    /// The marks brought into range, as the initializer does; the fields can be set out
    /// of range after it.
    var inRange: (high: Int, low: Int) {
        let high = max(0, highWaterMark)
        return (high, min(max(0, lowWaterMark), high))
    }
}
