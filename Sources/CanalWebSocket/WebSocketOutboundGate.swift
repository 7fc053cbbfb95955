import NIOConcurrencyHelpers
import NIOCore

/// Counts the bytes an async handler has sent on one connection that are not yet written to
/// the socket, and suspends its sends while there are too many.
///
/// `WebSocketOutbound` reserves an item's payload before handing the item to NIO;
/// `WebSocketChannelHandler` releases it once the item's write completes, written or failed.
/// NIO's async writer alone pauses only once the event loop has seen the channel become
/// unwritable, after every write already queued there, which a tight loop of sends outruns
/// by far. This count is taken before any of that queueing.
///
/// Above the high-water mark, sends wait, first come first served, until releases bring
/// the count down to the low-water mark. A send goes through at once whenever the count is
/// at or under the high mark and nobody waits, so the count never exceeds the high mark by
/// more than one item, and an item bigger than the mark still goes when the queue is empty.
final class WebSocketOutboundGate: Sendable {
    private struct Waiter {
        var id: UInt64
        var bytes: Int
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var pending = 0
        /// Set when `pending` went above the high mark; cleared when it fell to the low mark.
        /// Waiters exist only while it is set.
        var paused = false
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
        /// Set by `close`: every later reservation fails with it.
        var closedError: (any Error)?

        /// Counts `bytes` unless senders must wait: the closed error, nil to wait, or success.
        mutating func admit(_ bytes: Int, highWaterMark: Int) -> Result<Void, any Error>? {
            if let error = closedError { return .failure(error) }
            guard !paused else { return nil }
            count(bytes, highWaterMark: highWaterMark)
            return .success(())
        }

        mutating func count(_ bytes: Int, highWaterMark: Int) {
            pending += bytes
            if pending > highWaterMark { paused = true }
        }
    }

    let highWaterMark: Int
    let lowWaterMark: Int
    private let state = NIOLockedValueBox(State())

    init(limits: WebSocketOutboundBufferLimits) {
        (highWaterMark, lowWaterMark) = limits.inRange
    }

    /// Bytes reserved and not yet released.
    var pendingBytes: Int { state.withLockedValue { $0.pending } }

    /// Senders suspended in `reserve`.
    var waiterCount: Int { state.withLockedValue { $0.waiters.count } }

    /// The bytes this gate counts for an item: the payload of data and control frames.
    /// A close is never held back, so it counts nothing.
    static func bytes(of item: WebSocketOutboundItem) -> Int {
        switch item {
        case .message(let message): message.data.readableBytes
        case .fragment(let data, _, _): data.readableBytes
        case .ping(let data), .pong(let data): data.readableBytes
        case .close: 0
        }
    }

    /// Counts `bytes` as pending, first waiting while the connection has too much queued.
    ///
    /// - Throws: `CancellationError` if the task is cancelled while it waits (nothing is
    ///   counted then); the connection's error once it has closed.
    func reserve(_ bytes: Int) async throws {
        let immediate = state.withLockedValue { $0.admit(bytes, highWaterMark: highWaterMark) }
        if let immediate { return try immediate.get() }
        try await suspend(bytes)
    }

    private func suspend(_ bytes: Int) async throws {
        let id = state.withLockedValue { state in
            defer { state.nextID &+= 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Everything may have changed since the first look: decide again, under the lock.
                let immediate: Result<Void, any Error>? = state.withLockedValue { state in
                    // The cancellation handler ran already, or runs once this returns and
                    // finds nobody to resume: either way, resume here.
                    if state.closedError == nil, Task.isCancelled { return .failure(CancellationError()) }
                    if let admitted = state.admit(bytes, highWaterMark: highWaterMark) { return admitted }
                    state.waiters.append(Waiter(id: id, bytes: bytes, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLockedValue { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Stops counting `bytes` (an item's write completed) and wakes the senders that fit
    /// once the count reaches the low-water mark.
    func release(_ bytes: Int) {
        let woken: [Waiter] = state.withLockedValue { state in
            // Never below zero, even if something wrote to the channel around the gate.
            state.pending = max(0, state.pending - bytes)
            guard state.paused, state.pending <= lowWaterMark else { return [] }
            state.paused = false
            var count = 0
            while count < state.waiters.count, !state.paused {
                state.count(state.waiters[count].bytes, highWaterMark: highWaterMark)
                count += 1
            }
            let woken = Array(state.waiters.prefix(count))
            state.waiters.removeFirst(count)
            return woken
        }
        for waiter in woken { waiter.continuation.resume() }
    }

    /// Fails every waiting sender and every later reservation with `error`: the connection
    /// is closed, and nothing will release bytes any more.
    func close(error: any Error = ChannelError.ioOnClosedChannel) {
        let waiters: [Waiter] = state.withLockedValue { state in
            if state.closedError == nil { state.closedError = error }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(throwing: error) }
    }
}
