@testable import CanalWebSocket
import NIOCore
import NIOEmbedded
import Testing

/// The count of bytes an async handler has sent and NIO has not yet written, and the
/// suspension of its sends above the high-water mark.
@Suite
struct WebSocketOutboundGateTests {
    private func gate(high: Int, low: Int) -> WebSocketOutboundGate {
        WebSocketOutboundGate(limits: WebSocketOutboundBufferLimits(highWaterMark: high, lowWaterMark: low))
    }

    @Test
    func limitsOutOfRangeAreBroughtIntoRangeInsteadOfTrapping() {
        let defaults = WebSocketOutboundBufferLimits()
        #expect(defaults.highWaterMark == 1 << 20)
        #expect(defaults.lowWaterMark == 512 << 10)

        // Lowering only the high mark below the default low one.
        let small = WebSocketOutboundBufferLimits(highWaterMark: 256 << 10)
        #expect(small.highWaterMark == 256 << 10)
        #expect(small.lowWaterMark == 128 << 10)

        let zero = WebSocketOutboundBufferLimits(highWaterMark: 0)
        #expect(zero.highWaterMark == 0 && zero.lowWaterMark == 0)

        let negative = WebSocketOutboundBufferLimits(highWaterMark: -5, lowWaterMark: -1)
        #expect(negative.highWaterMark == 0 && negative.lowWaterMark == 0)

        let inverted = WebSocketOutboundBufferLimits(highWaterMark: 1000, lowWaterMark: 5000)
        #expect(inverted.highWaterMark == 1000 && inverted.lowWaterMark == 1000)
    }

    /// Starts a reservation in a task and waits until it is suspended in the gate.
    private func waitingReservation(
        _ bytes: Int,
        on gate: WebSocketOutboundGate,
        waiters: Int = 1
    ) async throws -> Task<Void, any Error> {
        let task = Task { try await gate.reserve(bytes) }
        try await waitUntil("\(waiters) waiting senders") { gate.waiterCount == waiters }
        return task
    }

    @Test
    func reservationsAndReleasesKeepTheCount() async throws {
        let gate = gate(high: 1000, low: 500)
        try await gate.reserve(100)
        try await gate.reserve(250)
        #expect(gate.pendingBytes == 350)
        gate.release(100)
        #expect(gate.pendingBytes == 250)
        gate.release(250)
        #expect(gate.pendingBytes == 0)
        #expect(gate.waiterCount == 0)
    }

    @Test
    func releasesNeverTakeTheCountBelowZero() async throws {
        let gate = gate(high: 1000, low: 500)
        try await gate.reserve(10)
        gate.release(50)
        #expect(gate.pendingBytes == 0)
    }

    @Test
    func senderAboveTheHighMarkWaitsUntilTheCountFallsToTheLowMark() async throws {
        let gate = gate(high: 1000, low: 500)
        try await gate.reserve(600)
        try await gate.reserve(600)  // under the mark when it went: it goes, and pauses the gate
        #expect(gate.pendingBytes == 1200)

        let third = try await waitingReservation(100, on: gate)
        gate.release(600)  // 600 left: above the low mark, still waiting
        try await Task.sleep(for: .milliseconds(50))
        #expect(gate.waiterCount == 1)
        #expect(gate.pendingBytes == 600)

        gate.release(100)  // 500: the low mark
        try await withTimeout(.seconds(5), "the waiting sender") { try await third.value }
        #expect(gate.pendingBytes == 600)
        #expect(gate.waiterCount == 0)
    }

    @Test
    func wokenSendersGoInOrderUntilTheMarkIsPassedAgain() async throws {
        let gate = gate(high: 1000, low: 0)
        try await gate.reserve(1001)
        let order = Recorder<[Int]>([])
        var tasks: [Task<Void, any Error>] = []
        for index in 0..<3 {
            tasks.append(
                Task {
                    try await gate.reserve(600)
                    order.update { $0.append(index) }
                }
            )
            try await waitUntil("sender \(index) waiting") { gate.waiterCount == index + 1 }
        }

        let senders = tasks
        gate.release(1001)  // 0: the first two fit (1200 > 1000 pauses again), the third waits
        try await withTimeout(.seconds(5), "two senders") {
            for task in senders.prefix(2) { try await task.value }
        }
        #expect(order.value == [0, 1])
        #expect(gate.waiterCount == 1)
        #expect(gate.pendingBytes == 1200)

        gate.release(1200)
        try await withTimeout(.seconds(5), "the last sender") { try await senders[2].value }
        #expect(order.value == [0, 1, 2])
        #expect(gate.pendingBytes == 600)
    }

    @Test
    func singleItemBiggerThanTheMarkGoesWhenNothingIsPending() async throws {
        let gate = gate(high: 1000, low: 500)
        try await withTimeout(.seconds(5), "an oversized reservation") { try await gate.reserve(5000) }
        #expect(gate.pendingBytes == 5000)

        let next = try await waitingReservation(10, on: gate)
        gate.release(5000)
        try await withTimeout(.seconds(5), "the next sender") { try await next.value }
        #expect(gate.pendingBytes == 10)
    }

    @Test
    func cancellingAWaitingSenderThrowsCancellationErrorAndCountsNothing() async throws {
        let gate = gate(high: 1000, low: 500)
        try await gate.reserve(2000)
        let waiting = try await waitingReservation(100, on: gate)

        waiting.cancel()
        let result = try await withTimeout(.seconds(5), "the cancelled sender") { await waiting.result }
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(gate.waiterCount == 0)
        #expect(gate.pendingBytes == 2000)

        // The gate still works: a release below the low mark lets the next sender go.
        let next = try await waitingReservation(100, on: gate)
        gate.release(2000)
        try await withTimeout(.seconds(5), "the next sender") { try await next.value }
        #expect(gate.pendingBytes == 100)
    }

    @Test
    func senderCancelledBeforeItWaitsThrowsAtOnce() async throws {
        let gate = gate(high: 1000, low: 500)
        try await gate.reserve(2000)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await gate.reserve(100)
        }
        let result = try await withTimeout(.seconds(5), "the cancelled sender") { await task.result }
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(gate.waiterCount == 0)
        #expect(gate.pendingBytes == 2000)
    }

    @Test
    func closingFailsEveryWaitingSenderAndLaterReservations() async throws {
        let gate = gate(high: 1000, low: 500)
        try await gate.reserve(2000)
        let first = try await waitingReservation(100, on: gate, waiters: 1)
        let second = try await waitingReservation(100, on: gate, waiters: 2)

        gate.close()
        for task in [first, second] {
            let result = try await withTimeout(.seconds(5), "a failed sender") { await task.result }
            #expect(throws: ChannelError.ioOnClosedChannel) { try result.get() }
        }
        #expect(gate.waiterCount == 0)
        await #expect(throws: ChannelError.ioOnClosedChannel) { try await gate.reserve(1) }
    }

    // MARK: The channel handler's side

    // An embedded channel must be used from the thread that made it: each test makes it
    // after its last suspension point and is done with it before the next one.

    private func gatedHandler(_ gate: WebSocketOutboundGate) throws -> EmbeddedChannel {
        let handler = WebSocketChannelHandler(
            connection: WebSocketConnection(role: .server),
            timeouts: WebSocketTimeouts(keepaliveInterval: nil),
            logger: quietLogger,
            closed: nil,
            callback: nil,
            outboundGate: gate
        )
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(handler)
        return channel
    }

    @Test
    func handlerReleasesAnItemsBytesOnceItIsWritten() async throws {
        let gate = gate(high: 1000, low: 500)
        let message = WebSocketOutboundItem.message(.binary(ByteBuffer(repeating: 7, count: 300)))
        let ping = WebSocketOutboundItem.ping(ByteBuffer(bytes: [1, 2]))
        try await gate.reserve(WebSocketOutboundGate.bytes(of: message))
        try await gate.reserve(WebSocketOutboundGate.bytes(of: ping))
        #expect(gate.pendingBytes == 302)

        let channel = try gatedHandler(gate)
        channel.write(message, promise: nil)
        #expect(gate.pendingBytes == 302, "not written before the flush")
        channel.flush()
        #expect(gate.pendingBytes == 2)
        channel.writeAndFlush(ping, promise: nil)
        #expect(gate.pendingBytes == 0)
        #expect(try channel.readOutbound(as: ByteBuffer.self)?.readableBytes == 304)
        _ = try? channel.finish()
    }

    @Test
    func handlerReleasesAnItemsBytesWhenItCannotBeSent() async throws {
        let gate = gate(high: 1000, low: 500)
        // RFC 6455 §5.5: a control frame's payload is at most 125 bytes.
        let item = WebSocketOutboundItem.ping(ByteBuffer(repeating: 1, count: 200))
        try await gate.reserve(WebSocketOutboundGate.bytes(of: item))

        let channel = try gatedHandler(gate)
        let outcome = Recorder<Result<Void, any Error>?>(nil)
        channel.writeAndFlush(item).whenComplete { result in outcome.update { $0 = result } }
        #expect(throws: WebSocketUsageError.self) { try outcome.value?.get() }
        #expect(gate.pendingBytes == 0)
        _ = try? channel.finish()
    }

    @Test
    func handlerFailsWaitingSendersWhenTheConnectionCloses() async throws {
        let gate = gate(high: 1000, low: 500)
        try await gate.reserve(2000)
        let waiting = try await waitingReservation(100, on: gate)

        let channel = try gatedHandler(gate)
        channel.pipeline.fireChannelInactive()
        _ = try? channel.finish()

        let result = try await withTimeout(.seconds(5), "the waiting sender") { await waiting.result }
        #expect(throws: ChannelError.ioOnClosedChannel) { try result.get() }
    }
}
