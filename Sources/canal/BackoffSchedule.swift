import Foundation

/// Delays between reconnection attempts: exponential, capped, with jitter so that many
/// clients dropped at once do not return at once.
///
/// With the defaults: 0.5 s, 1 s, 2 s, 4 s, 8 s, 16 s, then 30 s, each within ±20 %.
struct BackoffSchedule: Sendable, Equatable {
    var initial: Double = 0.5
    var multiplier: Double = 2
    var maximum: Double = 30
    /// The fraction by which a delay may vary either way.
    var jitter: Double = 0.2

    /// The delay before attempt `attempt` (1 for the first retry), in seconds.
    ///
    /// - Parameter random: a number in `0..<1`; 0.5 gives the delay without jitter.
    func delay(attempt: Int, random: Double) -> Double {
        let exponent = Double(max(attempt, 1) - 1)
        let base = min(maximum, initial * pow(multiplier, exponent))
        let factor = 1 + jitter * (2 * random - 1)
        return min(maximum, max(0, base * factor))
    }
}
