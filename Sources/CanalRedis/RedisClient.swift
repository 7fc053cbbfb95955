import NIOCore

/// The Redis calls Canal makes, and all it needs from a Redis client: commands (pipelined
/// when several are in flight), publish/subscribe, and a second connection for blocking
/// reads. `RedisConnection` is Canal's own implementation; a well-kept client library can
/// replace it by conforming to this protocol, in one place.
///
/// The command helpers (`set`, `xadd`, `xread`, `publish`, ...) are extensions on the
/// protocol, so a replacement gets them for free.
public protocol RedisClient: Sendable {
    /// Sends a command; the future completes with its reply, fails with `RedisError`
    /// (`.server` for an error reply). `timeout` overrides the configured command timeout
    /// (blocking commands need longer).
    func send(_ command: RedisCommand, timeout: TimeAmount?) -> EventLoopFuture<RESPValue>

    /// Sends several commands in one write; replies in order. Error replies are in the
    /// array as `.error`: one failing command does not fail the others.
    func send(pipeline commands: [RedisCommand]) -> EventLoopFuture<[RESPValue]>

    /// Subscribes to channels, patterns (`PSUBSCRIBE`) or shard channels (`SSUBSCRIBE`,
    /// Redis 7). `handler` runs for every message, on an event loop, and subscriptions
    /// survive reconnections. Completes once the server confirmed every name.
    func subscribe(
        _ names: [String], kind: RedisSubscriptionKind,
        handler: @escaping @Sendable (RedisPubSubMessage) -> Void
    ) -> EventLoopFuture<Void>

    func unsubscribe(_ names: [String], kind: RedisSubscriptionKind) -> EventLoopFuture<Void>

    /// A new client with the same settings and its own connection: for blocking commands
    /// (`XREAD BLOCK`), which hold their connection until they return.
    func duplicate() -> any RedisClient

    /// Called after every (re)connection is ready, on an event loop.
    func onConnect(_ handler: @escaping @Sendable () -> Void)

    /// Fails what is pending with `.closed` and closes the connections.
    func close() -> EventLoopFuture<Void>
}

/// What a subscription listens to.
public enum RedisSubscriptionKind: Sendable, Hashable, CaseIterable {
    /// `SUBSCRIBE`: exact channel names.
    case channel
    /// `PSUBSCRIBE`: glob-style patterns (`news.*`).
    case pattern
    /// `SSUBSCRIBE`: shard channels (Redis 7.0 and later), which a Redis Cluster keeps on
    /// the shard owning the channel's slot instead of broadcasting to every node.
    case shard

    var subscribeCommand: String {
        switch self {
        case .channel: return "SUBSCRIBE"
        case .pattern: return "PSUBSCRIBE"
        case .shard: return "SSUBSCRIBE"
        }
    }

    var unsubscribeCommand: String {
        switch self {
        case .channel: return "UNSUBSCRIBE"
        case .pattern: return "PUNSUBSCRIBE"
        case .shard: return "SUNSUBSCRIBE"
        }
    }
}

/// A message received on a subscription.
public struct RedisPubSubMessage: Sendable, Hashable {
    public var kind: RedisSubscriptionKind
    /// The channel it was published to.
    public var channel: String
    /// The pattern that matched, for `.pattern` subscriptions.
    public var pattern: String?
    public var payload: ByteBuffer

    public init(kind: RedisSubscriptionKind, channel: String, pattern: String? = nil, payload: ByteBuffer) {
        self.kind = kind
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }
}

extension RedisClient {
    /// Sends a command with the configured timeout.
    public func send(_ command: RedisCommand) -> EventLoopFuture<RESPValue> {
        send(command, timeout: nil)
    }

    /// Sends a command and waits for its reply; an error reply throws `RedisError.server`.
    public func run(_ command: RedisCommand, timeout: TimeAmount? = nil) async throws -> RESPValue {
        try await send(command, timeout: timeout).get()
    }
}
