import CanalRedis
import CanalSocketIO
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Joins this Socket.IO server to a cluster through one Redis stream, in the format of
/// `@socket.io/redis-streams-adapter` 0.2 (see `SocketIOClusterMessage`), so that Canal
/// servers and Node servers using that adapter share rooms, broadcasts and sessions.
///
/// ```swift
/// let cluster = try await SocketIORedisCluster.connect(url: "redis://127.0.0.1:6379")
/// var options = SocketIOServerOptions(connectionStateRecovery: .init())
/// options.adapter = cluster.adapter
/// let io = SocketIOServer(options: options)
/// ```
///
/// How it differs from the Node adapter, and why:
/// - Every broadcast, this server's own included, reaches local sockets through the
///   stream reader, in stream order: each server delivers the cluster's broadcasts in the
///   same order, and a recovered socket's missed events join its live ones with no gap and
///   no duplicate (the reader pauses while it joins, at most `restoreGateTimeout`).
/// - With recovery on, the sessions of connected sockets are copied to Redis every
///   `sessionRefreshInterval` (and soon after they join or leave rooms), expiring
///   `maxDisconnectionDuration` after the last copy: a client whose server was killed can
///   still be recovered by another server.
/// - Missed events come back with their offsets, so a client that drops twice is not sent
///   them again.
public final class SocketIORedisCluster: Sendable {
    /// This server's id in the cluster: 16 hex digits, as the Node adapter's.
    public let uid: String
    public let options: SocketIORedisOptions
    let redis: any RedisClient
    let reader: any RedisClient
    let eventLoop: EventLoop
    let logger: Logger
    private let ownsClient: Bool
    private let state = NIOLockedValueBox(State())

    struct State {
        var adapters: [String: SocketIORedisAdapter] = [:]
        /// The last entry read and the last delivered (they differ while paused).
        var cursor: String?
        var delivered: String?
        var reading = false
        var closed = false
        var held: [RedisStreamEntry] = []
        /// Sockets being recovered, each holding delivery until it joins (or its timer fires).
        var restoring: [String: Scheduled<Void>] = [:]
    }

    /// Uses a client you made (it stays yours to close) and a `duplicate()` of it for the
    /// blocking stream reads.
    public convenience init(
        redis: any RedisClient, options: SocketIORedisOptions = SocketIORedisOptions(),
        eventLoop: EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
        logger: Logger = Logger(label: "canal.socketio.redis")
    ) {
        self.init(redis: redis, options: options, eventLoop: eventLoop, logger: logger, ownsClient: false)
    }

    private init(
        redis: any RedisClient, options: SocketIORedisOptions, eventLoop: EventLoop, logger: Logger, ownsClient: Bool
    ) {
        self.uid = Self.randomHex(bytes: 8)
        self.options = options
        self.redis = redis
        self.reader = redis.duplicate()
        self.eventLoop = eventLoop
        self.logger = logger
        self.ownsClient = ownsClient
    }

    /// Connects to Redis (failing fast on a wrong URL, password or an unreachable server).
    public static func connect(
        url: String, options: SocketIORedisOptions = SocketIORedisOptions(),
        eventLoop: EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
        logger: Logger = Logger(label: "canal.socketio.redis")
    ) async throws -> SocketIORedisCluster {
        var configuration = try RedisConfiguration(url: url)
        configuration.clientName = "canal-socketio"
        let redis = try await RedisConnection.connect(to: configuration, eventLoop: eventLoop, logger: logger)
        return SocketIORedisCluster(redis: redis, options: options, eventLoop: eventLoop, logger: logger, ownsClient: true)
    }

    /// The adapter maker for `SocketIOServerOptions.adapter`: one adapter per namespace.
    public var adapter: @Sendable (SocketIOAdapterContext) -> any SocketIOAdapter {
        { context in self.makeAdapter(context) }
    }

    func makeAdapter(_ context: SocketIOAdapterContext) -> SocketIORedisAdapter {
        let adapter = SocketIORedisAdapter(context: context, cluster: self)
        let start = state.withLockedValue { state -> Bool in
            state.adapters[context.namespace] = adapter
            defer { state.reading = true }
            return !state.reading
        }
        if start { eventLoop.execute { self.startReading() } }
        adapter.start()
        return adapter
    }

    func removeAdapter(_ namespace: String) {
        state.withLockedValue { _ = $0.adapters.removeValue(forKey: namespace) }
    }

    /// Says goodbye for every namespace and stops reading.
    public func close() async {
        let adapters = state.withLockedValue { state -> [SocketIORedisAdapter] in
            state.closed = true
            return Array(state.adapters.values)
        }
        for adapter in adapters { adapter.close() }
        // Let the goodbyes go out before the connection closes.
        try? await redis.ping().get()
        try? await reader.close().get()
        if ownsClient { try? await redis.close().get() }
    }

    // MARK: Publishing

    /// Appends a message to the stream; the future has its entry id.
    func publish(_ message: SocketIOClusterMessage) -> EventLoopFuture<String> {
        redis.xadd(options.streamName, fields: message.streamFields, maxLength: options.maxLength)
    }

    // MARK: Reading

    private func startReading() {
        // Start after the last entry now in the stream (`$` between two reads could skip some).
        redis.xrevrange(options.streamName, from: "+", to: "-", count: 1).hop(to: eventLoop).whenComplete { result in
            switch result {
            case .success(let entries):
                let last = entries.first?.id
                self.state.withLockedValue { state in
                    state.cursor = last ?? "0-0"
                    state.delivered = state.cursor
                }
                self.readNext()
            case .failure(let error):
                self.logger.warning("! cannot read the stream \(self.options.streamName): \(error); retrying")
                self.eventLoop.scheduleTask(in: .milliseconds(200)) { self.startReading() }
            }
        }
    }

    private func readNext() {
        let cursor = state.withLockedValue { $0.closed ? nil : $0.cursor }
        guard let cursor else { return }
        reader.xread(options.streamName, after: cursor, count: options.readCount, block: options.blockTime)
            .hop(to: eventLoop).whenComplete { result in
                switch result {
                case .success(let entries):
                    self.received(entries)
                    self.readNext()
                case .failure(let error):
                    if self.state.withLockedValue({ $0.closed }) { return }
                    self.logger.debug("! reading \(self.options.streamName): \(error); retrying")
                    self.eventLoop.scheduleTask(in: .milliseconds(100)) { self.readNext() }
                }
            }
    }

    /// On `eventLoop`: delivers the entries, or holds them while a socket is being recovered.
    private func received(_ entries: [RedisStreamEntry]) {
        eventLoop.assertInEventLoop()
        guard let last = entries.last else { return }
        let deliverNow = state.withLockedValue { state -> Bool in
            state.cursor = last.id
            if state.restoring.isEmpty { return true }
            state.held.append(contentsOf: entries)
            return false
        }
        if deliverNow { deliver(entries) }
    }

    private func deliver(_ entries: [RedisStreamEntry]) {
        let adapters = state.withLockedValue { $0.adapters }
        for entry in entries {
            do {
                let message = try SocketIOClusterMessage(streamFields: entry.fields)
                adapters[message.namespace]?.received(message, id: entry.id)
            } catch {
                logger.debug("! skipping stream entry \(entry.id): \(error)")
            }
            state.withLockedValue { $0.delivered = entry.id }
        }
    }

    // MARK: The recovery gate

    /// Holds delivery until `socketID` joins (or the gate timeout), and gives the id of
    /// the last entry delivered: the recovered socket gets what came before from the
    /// stream, and what comes after live.
    func holdDelivery(for socketID: String) -> EventLoopFuture<String> {
        eventLoop.submit {
            self.state.withLockedValue { state -> String in
                state.restoring[socketID]?.cancel()
                state.restoring[socketID] = self.eventLoop.scheduleTask(in: self.options.restoreGateTimeout) {
                    self.releaseDelivery(for: socketID)
                }
                return state.delivered ?? "0-0"
            }
        }
    }

    /// The socket joined (or was not recovered after all): delivery goes on.
    func releaseDelivery(for socketID: String) {
        guard state.withLockedValue({ $0.restoring[socketID] != nil }) else { return }
        eventLoop.execute {
            let held = self.state.withLockedValue { state -> [RedisStreamEntry] in
                state.restoring.removeValue(forKey: socketID)?.cancel()
                guard state.restoring.isEmpty else { return [] }
                defer { state.held.removeAll() }
                return state.held
            }
            self.deliver(held)
        }
    }

    static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }
}
