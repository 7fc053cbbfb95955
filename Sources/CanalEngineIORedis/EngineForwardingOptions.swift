import NIOCore

/// The limits of an `EngineRedisForwarder`, with defaults safe for servers on one network.
///
/// | option | default | |
/// | --- | --- | --- |
/// | `keyPrefix` | `canal:engine:node:` | a server's address is at `<prefix><node id>` |
/// | `heartbeatInterval` | 5 s | a server renews its address this often |
/// | `addressExpiry` | 15 s | an address not renewed for this long expires: its server is gone |
/// | `connectTimeout` | 2 s | connecting to an owner, and looking its address up, take at most this |
/// | `maxConnectionsPerOwner` | 1,024 | HTTP connections kept to one owner (a held long-poll GET takes one) |
/// | `maxResponseBytes` | 16 MiB | largest polling answer relayed; a larger one fails as an unreachable owner |
/// | `maxMessageSize` | 16 MiB | largest WebSocket message relayed over a bridge |
/// | `maxPendingBytes` | 1 MiB | messages a bridged WebSocket may send before the owner answers; beyond, 1009 |
/// | `maxCachedOwners` | 4,096 | owner addresses remembered (addresses do not change: a node id names one process) |
public struct EngineForwardingOptions: Sendable, Hashable {
    public var keyPrefix: String
    public var heartbeatInterval: TimeAmount
    public var addressExpiry: TimeAmount
    public var connectTimeout: TimeAmount
    public var maxConnectionsPerOwner: Int
    public var maxResponseBytes: Int
    public var maxMessageSize: Int
    public var maxPendingBytes: Int
    public var maxCachedOwners: Int

    public init(
        keyPrefix: String = "canal:engine:node:",
        heartbeatInterval: TimeAmount = .seconds(5),
        addressExpiry: TimeAmount = .seconds(15),
        connectTimeout: TimeAmount = .seconds(2),
        maxConnectionsPerOwner: Int = 1_024,
        maxResponseBytes: Int = 16 << 20,
        maxMessageSize: Int = 16 << 20,
        maxPendingBytes: Int = 1 << 20,
        maxCachedOwners: Int = 4_096
    ) {
        self.keyPrefix = keyPrefix
        self.heartbeatInterval = heartbeatInterval
        self.addressExpiry = addressExpiry
        self.connectTimeout = connectTimeout
        self.maxConnectionsPerOwner = maxConnectionsPerOwner
        self.maxResponseBytes = maxResponseBytes
        self.maxMessageSize = maxMessageSize
        self.maxPendingBytes = maxPendingBytes
        self.maxCachedOwners = maxCachedOwners
    }
}
