@testable import CanalWebSocket
import NIOCore
import NIOEmbedded
import NIOPosix
import Foundation
import NIOConcurrencyHelpers
import Testing

/// Flushes that wait for the end of the event loop's round of I/O (`LoopFlushBatch`).
@Suite
struct LoopFlushBatchTests {
    /// Counts its flushes, and can ask for one more flush from inside a flush.
    private final class Flushable: LoopFlushable {
        let name: String
        let log: FlushLog
        var addAgainFrom: LoopFlushBatch?

        init(_ name: String, log: FlushLog) {
            self.name = name
            self.log = log
        }

        func batchedFlush() {
            log.names.append(name)
            if let batch = addAgainFrom {
                addAgainFrom = nil
                batch.add(self)
            }
        }
    }

    private final class FlushLog {
        var names: [String] = []
    }

    @Test
    func flushesOnceEachAfterTheCurrentTaskInOrder() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()

        let flushedDuringTask = try loop.submit {
            let log = FlushLog()
            let batch = try #require(LoopFlushBatch.current(for: loop))
            for name in ["a", "b", "c"] { batch.add(Flushable(name, log: log)) }
            return (log.names.count, NIOLoopBound(log, eventLoop: loop))
        }.wait()
        #expect(flushedDuringTask.0 == 0, "nothing is flushed before the loop's round ends")

        let flushed = try loop.submit { flushedDuringTask.1.value.names }.wait()
        #expect(flushed == ["a", "b", "c"])
    }

    @Test
    func anItemAddedWhileFlushingIsFlushedAgain() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()

        let log = try loop.submit {
            let log = FlushLog()
            let batch = try #require(LoopFlushBatch.current(for: loop))
            let item = Flushable("again", log: log)
            item.addAgainFrom = batch
            batch.add(item)
            return NIOLoopBound(log, eventLoop: loop)
        }.wait()
        // The second flush is a task of its own, queued behind the first.
        try loop.submit {}.wait()
        let flushed = try loop.submit { log.value.names }.wait()
        #expect(flushed == ["again", "again"])
    }

    @Test
    func oneBatchPerLoopAndNoneForOtherLoops() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group.syncShutdownGracefully() }
        let first = group.next()
        let second = group.next()
        #expect(first !== second)

        let sameTwice = try first.submit {
            let one = LoopFlushBatch.current(for: first)
            let two = LoopFlushBatch.current(for: first)
            return one != nil && one === two
        }.wait()
        #expect(sameTwice)

        let forAnotherLoop = try first.submit { LoopFlushBatch.current(for: second) == nil }.wait()
        #expect(forAnotherLoop, "a loop's batch is only handed out on that loop's thread")

        #expect(LoopFlushBatch.current(for: first) == nil, "not from outside the loop")
        #expect(LoopFlushBatch.current(for: EmbeddedEventLoop()) == nil, "embedded loops flush at once")
    }

    @Test
    func aThreadThatRunsOneLoopAfterAnotherGetsABatchForEach() throws {
        // Each run flushes through the batch of its own loop; a batch left over from the
        // previous loop on this thread would schedule on a loop that is gone.
        let flushedPerRun = NIOLockedValueBox<[[String]]>([])
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            for run in 0..<2 {
                MultiThreadedEventLoopGroup.withCurrentThreadAsEventLoop { loop in
                    let log = FlushLog()
                    LoopFlushBatch.current(for: loop)?.add(Flushable("run \(run)", log: log))
                    let bound = NIOLoopBound(log, eventLoop: loop)
                    loop.execute {
                        flushedPerRun.withLockedValue { $0.append(bound.value.names) }
                        loop.shutdownGracefully { _ in }
                    }
                }
            }
            finished.signal()
        }
        thread.start()
        #expect(finished.wait(timeout: .now() + 10) == .success)
        #expect(flushedPerRun.withLockedValue { $0 } == [["run 0"], ["run 1"]])
    }
}
