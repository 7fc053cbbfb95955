import CanalHTTP
import Testing

@Suite struct LongPollSourceTests {
    @Test func pollNewerThanTheClientsVersionReturnsAtOnce() async throws {
        let source = LongPollSource<String>()
        #expect(source.latest == nil)
        #expect(source.publish("a") == 1)
        #expect(source.publish("b") == 2)
        guard case .value(let version, let value) = await source.next(after: 0, timeout: .seconds(5)) else {
            Issue.record("expected a value")
            return
        }
        #expect(version == 2 && value == "b")
    }

    @Test func heldPollWakesWhenANewerValueIsPublished() async throws {
        let source = LongPollSource<Int>()
        source.publish(1)
        let waiting = Task { await source.next(after: 1, timeout: .seconds(10)) }
        try await waitFor { source.waiterCount == 1 }
        source.publish(42)
        guard case .value(let version, let value) = await waiting.value else {
            Issue.record("expected a value")
            return
        }
        #expect(version == 2 && value == 42)
        #expect(source.waiterCount == 0)
    }

    @Test func heldPollTimesOutAndCancelledPollEnds() async throws {
        let source = LongPollSource<Int>()
        let started = ContinuousClock.now
        guard case .timedOut = await source.next(after: 0, timeout: .milliseconds(100)) else {
            Issue.record("expected a time-out")
            return
        }
        #expect(ContinuousClock.now - started >= .milliseconds(100))
        let waiting = Task { await source.next(after: 0, timeout: .seconds(30)) }
        try await waitFor { source.waiterCount == 1 }
        waiting.cancel()
        guard case .timedOut = await waiting.value else {
            Issue.record("expected the cancelled poll to end")
            return
        }
        #expect(source.waiterCount == 0)
    }

    @Test func pollsBeyondTheLimitAreRefused() async throws {
        let source = LongPollSource<Int>(maxWaiters: 1)
        let first = Task { await source.next(after: 0, timeout: .seconds(10)) }
        try await waitFor { source.waiterCount == 1 }
        guard case .tooManyWaiters = await source.next(after: 0, timeout: .seconds(10)) else {
            Issue.record("expected a refusal")
            return
        }
        source.publish(1)
        _ = await first.value
    }
}
