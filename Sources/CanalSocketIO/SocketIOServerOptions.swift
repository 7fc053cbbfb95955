import CanalEngineIO
import CanalEngineIOCore
import CanalSocketIOCore
import Metrics
import NIOCore

/// The options of a `SocketIOServer`, with the official server's defaults.
///
/// | option | default | |
/// | --- | --- | --- |
/// | `connectTimeout` | 45 s | a client that joins no namespace in time is disconnected |
/// | `connectionStateRecovery` | off | keep sessions and missed events for a returning client |
/// | `decoderLimits` | 10 attachments, depth 64 | a packet over them is a parse error |
/// | `serveClient` | true | serve the browser client at `<path>socket.io.js` |
/// | `metricsFactory` | `MetricsSystem.factory` | where the counters of `SocketIOMetrics` go |
///
/// Engine.IO's own options (heartbeat, buffer sizes, transports, path, CORS) are in `engine`.
public struct SocketIOServerOptions: Sendable {
    public var engine: EngineServerOptions
    public var connectTimeout: TimeAmount
    public var connectionStateRecovery: ConnectionStateRecovery?
    public var decoderLimits: SocketIODecoderLimits
    public var serveClient: Bool
    /// Makes the adapter of each namespace; the default keeps rooms in memory.
    public var adapter: @Sendable (SocketIOAdapterContext) -> any SocketIOAdapter
    /// Receives the server's metrics (connected sockets, packets, broadcasts, drops,
    /// disconnect reasons). Default: the factory bootstrapped with `MetricsSystem`.
    public var metricsFactory: any MetricsFactory

    /// Connection state recovery: a client that comes back within
    /// `maxDisconnectionDuration` with its private id gets its id, rooms and data back,
    /// and every event it missed.
    public struct ConnectionStateRecovery: Sendable, Hashable {
        public var maxDisconnectionDuration: TimeAmount
        /// Recovered sockets do not go through the middlewares again.
        public var skipMiddlewares: Bool

        public init(maxDisconnectionDuration: TimeAmount = .minutes(2), skipMiddlewares: Bool = true) {
            self.maxDisconnectionDuration = maxDisconnectionDuration
            self.skipMiddlewares = skipMiddlewares
        }
    }

    public init(
        engine: EngineServerOptions = EngineServerOptions(),
        connectTimeout: TimeAmount = .seconds(45),
        connectionStateRecovery: ConnectionStateRecovery? = nil,
        decoderLimits: SocketIODecoderLimits = SocketIODecoderLimits(),
        serveClient: Bool = true,
        adapter: @escaping @Sendable (SocketIOAdapterContext) -> any SocketIOAdapter = { SocketIOMemoryAdapter($0) },
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.engine = engine
        self.connectTimeout = connectTimeout
        self.connectionStateRecovery = connectionStateRecovery
        self.decoderLimits = decoderLimits
        self.serveClient = serveClient
        self.adapter = adapter
        self.metricsFactory = metricsFactory ?? MetricsSystem.factory
    }
}
