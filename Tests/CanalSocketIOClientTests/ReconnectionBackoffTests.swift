import NIOCore
import Testing

@testable import CanalSocketIOClient

@Suite struct ReconnectionBackoffTests {
    @Test func delaysDoubleFromOneSecondUpToFive() {
        var backoff = ReconnectionBackoff(.init(randomizationFactor: 0))
        let delays = (0..<5).map { _ in backoff.nextDelay(random: 0.3) }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
        #expect(backoff.attempts == 5)
        backoff.reset()
        #expect(backoff.nextDelay(random: 0.3) == .seconds(1))
    }

    @Test func randomizationMovesDelayByHalfEitherWayAsTheOfficialBackoff() {
        var down = ReconnectionBackoff(.init())
        // Tenths digit 2 (even): minus 0.25 * 0.5 * 1000 ms.
        #expect(down.nextDelay(random: 0.25) == .milliseconds(875))
        var up = ReconnectionBackoff(.init())
        // Tenths digit 5 (odd): plus 0.55 * 0.5 * 1000 ms.
        #expect(up.nextDelay(random: 0.55) == .milliseconds(1275))
        var capped = ReconnectionBackoff(.init())
        for _ in 0..<3 { _ = capped.nextDelay(random: 0.95) }
        // 8 s + 3.8 s would be 11.8 s: capped at 5 s.
        #expect(capped.nextDelay(random: 0.95) == .seconds(5))
    }

    @Test func maximumAttemptsStopsRetrying() {
        var backoff = ReconnectionBackoff(.init(maximumAttempts: 2))
        #expect(backoff.mayRetry)
        _ = backoff.nextDelay(random: 0)
        _ = backoff.nextDelay(random: 0)
        #expect(!backoff.mayRetry)
        #expect(!ReconnectionBackoff(.disabled).mayRetry)
    }
}
