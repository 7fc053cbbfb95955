import NIOCore

/// The options of a `SocketIORedisCluster`, with `@socket.io/redis-streams-adapter`'s
/// defaults where it has the option.
///
/// | option | default | |
/// | --- | --- | --- |
/// | `streamName` | `socket.io` | the Redis stream every message goes through |
/// | `maxLength` | 10,000 | `XADD ... MAXLEN ~`: the stream keeps about this many entries |
/// | `readCount` | 100 | entries per `XREAD` |
/// | `blockTime` | 5 s | how long one `XREAD` waits for new entries |
/// | `sessionKeyPrefix` | `sio:session:` | recovery sessions are at `<prefix><private id>` |
/// | `heartbeatInterval` | 5 s | a server says it is alive this often |
/// | `heartbeatTimeout` | 10 s | a server not heard of for this long is gone |
/// | `requestTimeout` | 5 s | fetch-sockets and server-side emits with acks wait this long for the others |
/// | `sessionRefreshInterval` | 5 s | with recovery on, live sessions are copied to Redis this often (see `SocketIORedisCluster`) |
/// | `restoreGateTimeout` | 2 s | longest pause of delivery while a recovered socket joins |
public struct SocketIORedisOptions: Sendable, Hashable {
    public var streamName: String
    public var maxLength: Int
    public var readCount: Int
    public var blockTime: TimeAmount
    public var sessionKeyPrefix: String
    public var heartbeatInterval: TimeAmount
    public var heartbeatTimeout: TimeAmount
    public var requestTimeout: TimeAmount
    public var sessionRefreshInterval: TimeAmount
    public var restoreGateTimeout: TimeAmount

    public init(
        streamName: String = "socket.io",
        maxLength: Int = 10_000,
        readCount: Int = 100,
        blockTime: TimeAmount = .seconds(5),
        sessionKeyPrefix: String = "sio:session:",
        heartbeatInterval: TimeAmount = .seconds(5),
        heartbeatTimeout: TimeAmount = .seconds(10),
        requestTimeout: TimeAmount = .seconds(5),
        sessionRefreshInterval: TimeAmount = .seconds(5),
        restoreGateTimeout: TimeAmount = .seconds(2)
    ) {
        self.streamName = streamName
        self.maxLength = maxLength
        self.readCount = readCount
        self.blockTime = blockTime
        self.sessionKeyPrefix = sessionKeyPrefix
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.requestTimeout = requestTimeout
        self.sessionRefreshInterval = sessionRefreshInterval
        self.restoreGateTimeout = restoreGateTimeout
    }
}

/// A stream entry id, `<milliseconds>-<sequence>`, ordered as Redis orders them.
struct StreamID: Comparable, Hashable, Sendable, CustomStringConvertible {
    var milliseconds: UInt64
    var sequence: UInt64

    init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let milliseconds = UInt64(parts[0]), let sequence = UInt64(parts[1]) else { return nil }
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    static func < (a: StreamID, b: StreamID) -> Bool {
        (a.milliseconds, a.sequence) < (b.milliseconds, b.sequence)
    }

    /// The id just after this one: an exclusive range start that Redis before 6.2 reads too.
    var next: String { sequence == .max ? "\(milliseconds + 1)-0" : "\(milliseconds)-\(sequence + 1)" }
    var description: String { "\(milliseconds)-\(sequence)" }
}
