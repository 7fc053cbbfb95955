import NIOCore
import NIOSSL

/// How a `RedisConnection` reaches its server and how patient it is. Every limit has a
/// safe default.
///
/// | setting | default | |
/// | --- | --- | --- |
/// | `connectTimeout` | 5 s | one TCP (and TLS) connection attempt |
/// | `commandTimeout` | 5 s | from the call until the reply; queued time counts |
/// | `reconnect` | 50 ms doubling to 2 s, jittered | between attempts after a loss |
/// | `maxQueuedCommands` | 10,000 | commands waiting while disconnected; more fail at once |
/// | `decoderLimits` | see `RESPDecoderLimits` | |
public struct RedisConfiguration: Sendable {
    public var url: RedisURL
    /// TLS settings for `rediss://` (default: the system's trust roots, host name checked).
    public var tls: TLSConfiguration?
    public var connectTimeout: TimeAmount
    public var commandTimeout: TimeAmount
    public var reconnect: RedisBackoff
    public var maxQueuedCommands: Int
    public var decoderLimits: RESPDecoderLimits
    /// Sent with `CLIENT SETNAME` on every connection, so `CLIENT LIST` shows who is who.
    public var clientName: String?

    public init(
        url: RedisURL,
        tls: TLSConfiguration? = nil,
        connectTimeout: TimeAmount = .seconds(5),
        commandTimeout: TimeAmount = .seconds(5),
        reconnect: RedisBackoff = RedisBackoff(),
        maxQueuedCommands: Int = 10_000,
        decoderLimits: RESPDecoderLimits = RESPDecoderLimits(),
        clientName: String? = nil
    ) {
        self.url = url
        self.tls = tls ?? (url.usesTLS ? TLSConfiguration.makeClientConfiguration() : nil)
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.reconnect = reconnect
        self.maxQueuedCommands = maxQueuedCommands
        self.decoderLimits = decoderLimits
        self.clientName = clientName
    }

    /// From a `redis://` or `rediss://` URL, with the defaults.
    public init(url: String) throws(RedisURLError) {
        self.init(url: try RedisURL(url))
    }
}

/// Exponential backoff between reconnection attempts: `initial`, doubling up to `maximum`,
/// each delay multiplied by a random factor in `1 - jitter ... 1` so that many clients
/// losing one server do not come back in step.
public struct RedisBackoff: Sendable, Hashable {
    public var initial: TimeAmount
    public var maximum: TimeAmount
    /// From 0 (no randomness) to 1.
    public var jitter: Double

    public init(initial: TimeAmount = .milliseconds(50), maximum: TimeAmount = .seconds(2), jitter: Double = 0.5) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay before attempt `attempt` (0 for the first retry), given a random number in 0...1.
    public func delay(attempt: Int, random: Double) -> TimeAmount {
        let exponent = min(attempt, 30)
        let base = min(Double(initial.nanoseconds) * Double(1 << exponent), Double(maximum.nanoseconds))
        let factor = 1 - jitter * min(max(random, 0), 1)
        return .nanoseconds(Int64(base * factor))
    }
}
