import NIOCore

/// Runs the nonisolated code of a task on one NIO event loop: the task executor an async
/// connection handler prefers, so that it runs where its channel does.
///
/// Without it, each message an async handler reads resumes the handler on Swift's global
/// executor, and each send hops back to the channel's event loop: two thread switches per
/// message, about ten times the CPU the event-loop handler spends. On the channel's loop,
/// the messages of one read burst come out of the inbound buffer without a suspension,
/// and a send writes to the channel at once (the writes of one turn leave in one flush).
///
/// The price is that of every event-loop handler: code that blocks, or computes for long,
/// holds up every connection on that loop. Turn it off for such handlers with
/// `WebSocketConnectionConfiguration.runsAsyncHandlersOnEventLoop`.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
