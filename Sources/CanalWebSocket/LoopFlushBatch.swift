import NIOCore
import NIOPosix

/// Something whose flush can wait for the end of its event loop's round of I/O.
protocol LoopFlushable: AnyObject {
    func batchedFlush()
}

/// Flushes of every connection on one NIO event loop, done together once the loop has
/// handled all the I/O it was woken for.
///
/// A read burst ends with one flush per connection either way; waiting until the other
/// ready connections have been read means the peer is woken by the first write and is
/// already running for the rest, instead of being woken (often on another core) once per
/// connection. On a loaded server this is fewer wake-ups on both sides and a shorter
/// queue of ready sockets at the next poll. Immediate tasks run after the loop's I/O
/// events and before it polls again, so nothing waits longer than the current round.
final class LoopFlushBatch {
    // Each NIO thread sees only its own batch; the batch is used on that thread only.
    nonisolated(unsafe) private static let perThread = ThreadSpecificVariable<LoopFlushBatch>()

    /// The batch of `eventLoop` if it is the NIO event loop running this thread, else `nil`
    /// (embedded and other loops flush at once).
    static func current(for eventLoop: EventLoop) -> LoopFlushBatch? {
        guard let running = MultiThreadedEventLoopGroup.currentEventLoop, running === eventLoop else {
            return nil
        }
        // A thread can run one loop after another (`withCurrentThreadAsEventLoop`).
        if let batch = perThread.currentValue, batch.eventLoop === running { return batch }
        let batch = LoopFlushBatch(eventLoop: running)
        perThread.currentValue = batch
        return batch
    }

    private let eventLoop: EventLoop
    private var waiting: [LoopFlushable] = []
    private var running: [LoopFlushable] = []
    private var scheduled = false

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Flushes `item` at the end of this round of I/O. Call on the event loop, at most
    /// once per item and round (the item keeps track).
    func add(_ item: LoopFlushable) {
        waiting.append(item)
        guard !scheduled else { return }
        scheduled = true
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.execute { bound.value.flushAll() }
    }

    private func flushAll() {
        scheduled = false
        // Flushing can add to the batch again (a write completes, a handler sends): that
        // schedules another task, which the loop still runs before it polls again.
        swap(&waiting, &running)
        for item in running { item.batchedFlush() }
        running.removeAll(keepingCapacity: true)
    }
}

@available(*, unavailable)
extension LoopFlushBatch: Sendable {}
