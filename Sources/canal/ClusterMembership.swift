import ArgumentParser
import CanalEngineIORedis
import CanalRedis
import CanalSocketIO
import CanalSocketIORedis
import Logging

/// `canal serve --redis URL`: this server's part in a cluster. Rooms, broadcasts and
/// recovered sessions go through the Redis stream (`SocketIORedisCluster`); requests for
/// another server's Engine.IO session are relayed to it (`EngineRedisForwarder`), so a load
/// balancer needs no sticky sessions.
struct ClusterMembership {
    let cluster: SocketIORedisCluster
    let forwarder: EngineRedisForwarder
    /// The one connection both use (the cluster adds its own for blocking stream reads).
    private let redis: any RedisClient
    private let logger: Logger

    /// Joins the cluster at `server.redis`, if given (Redis must answer now, or this fails).
    static func join(_ server: ServerOptions, logger: Logger) async throws -> ClusterMembership? {
        guard let url = server.redis else { return nil }
        do {
            var configuration = try RedisConfiguration(url: url)
            configuration.clientName = "canal-serve"
            let redis = try await RedisConnection.connect(to: configuration, logger: logger)
            let cluster = SocketIORedisCluster(redis: redis, logger: logger)
            let forwarder = EngineRedisForwarder(redis: redis, logger: logger)
            logger.info(
                "joined the Socket.IO cluster at \((try? RedisURL(url))?.description ?? "redis") as \(cluster.uid), node \(forwarder.nodeID)"
            )
            return ClusterMembership(cluster: cluster, forwarder: forwarder, redis: redis, logger: logger)
        } catch {
            throw ValidationError("--redis: \(error)")
        }
    }

    /// The adapter, connection state recovery (sessions survive a server), and forwarding.
    func configure(_ options: inout SocketIOServerOptions, recovery: Bool) {
        options.adapter = cluster.adapter
        if recovery { options.connectionStateRecovery = .init() }
        options.engine.forwarder = forwarder
    }

    /// Once the server listens: tells the other servers where to relay this one's sessions.
    func advertise(_ server: ServerOptions, port: Int?, secure: Bool) async throws {
        let address = server.advertise ?? Self.defaultAddress(host: server.host, port: port ?? server.port, secure: secure)
        do {
            try await forwarder.advertise(address).get()
            logger.info("other servers of the cluster reach this one at \(address)")
        } catch {
            throw ValidationError("--redis: cannot write this server's address: \(error)")
        }
    }

    /// The listening address; loopback when listening on every address (give `--advertise`
    /// when the servers are on different machines).
    static func defaultAddress(host: String, port: Int, secure: Bool) -> String {
        let reachable: String
        switch host {
        case "0.0.0.0", "": reachable = "127.0.0.1"
        case "::": reachable = "[::1]"
        default: reachable = host.contains(":") ? "[\(host)]" : host
        }
        return "\(secure ? "https" : "http")://\(reachable):\(port)"
    }

    func leave() async {
        await forwarder.close()
        await cluster.close()
        try? await redis.close().get()
    }
}
