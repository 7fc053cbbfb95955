import NIOCore

/// The delays between reconnection attempts: exponential with a cap and jitter, as
/// socket.io-client's Manager computes them (its `Backoff`), so that many clients dropped
/// at once do not come back at once.
///
/// Attempt n (from 0) waits `delay * 2^n`, moved by up to `randomizationFactor` of itself
/// (down or up, by the random draw), and never more than `maximumDelay`: with the defaults
/// 1 s, 2 s, 4 s, then 5 s, each within ±50 %, capped at 5 s.
public struct ReconnectionBackoff: Sendable, Hashable {
    public let reconnection: SocketIOClientConfiguration.Reconnection
    /// Attempts made since the last success.
    public private(set) var attempts = 0

    public init(_ reconnection: SocketIOClientConfiguration.Reconnection) {
        self.reconnection = reconnection
    }

    /// The delay before the next attempt; counts the attempt.
    ///
    /// - Parameter random: a number in `0..<1` (injected so tests are deterministic).
    public mutating func nextDelay(random: Double) -> TimeAmount {
        let base = Double(reconnection.delay.nanoseconds) * pow2(attempts)
        attempts += 1
        var delay = base
        let factor = reconnection.randomizationFactor
        if factor > 0 {
            let deviation = (random * factor * base).rounded(.down)
            // The tenths digit of the draw picks the direction, as the official Backoff does.
            delay = Int((random * 10).rounded(.down)) % 2 == 0 ? base - deviation : base + deviation
        }
        let capped = min(delay, Double(reconnection.maximumDelay.nanoseconds))
        return .nanoseconds(Int64(max(0, capped)))
    }

    /// Whether another attempt is allowed.
    public var mayRetry: Bool {
        guard reconnection.isEnabled else { return false }
        guard let limit = reconnection.maximumAttempts else { return true }
        return attempts < limit
    }

    /// After a successful connection: the next loss starts again from `delay`.
    public mutating func reset() {
        attempts = 0
    }

    private func pow2(_ exponent: Int) -> Double {
        // 2^exponent without overflow: past 2^62 the cap has long been reached.
        Double(1 << min(exponent, 62))
    }
}
