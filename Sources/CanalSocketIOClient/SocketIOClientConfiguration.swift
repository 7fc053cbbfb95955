import CanalEngineIOCore
import CanalSocketIOCore
import CanalWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// Everything a Socket.IO client can be told, with socket.io-client's defaults where it
/// has them and a documented bound where it has none.
///
/// | option | default | what happens past it |
/// | --- | --- | --- |
/// | `path` | `/socket.io/` | |
/// | `engine.transports` | polling, then websocket | |
/// | `engine.openTimeout` | 20 s | the Engine.IO session must open in time (`timeout`) |
/// | `connectTimeout` | 20 s | a namespace's CONNECT must be answered in time (`connect_error` "timeout") |
/// | `reconnection` | on, unlimited attempts | 1 s doubling to 5 s, randomization 0.5 |
/// | `ackTimeout` | 30 s | an acknowledgement not received in time fails with `.ackTimeout` (socket.io-client waits forever) |
/// | `offlineBuffer` | 1,000 packets, drop the newest | emits while disconnected wait here; past the bound they are dropped and reported |
/// | `incomingBufferLimit` | 65,536 events | a sequence from `events()` / `updates()` read more slowly ends with `.slowConsumer` |
/// | `engine.maxPayloadBytes` | 16 MiB | a bigger message from the server ends the session ("parse error") |
/// | `decoderLimits` | 10 attachments, depth 64 | a packet over them ends the session ("parse error") |
public struct SocketIOClientConfiguration: Sendable {
    /// Where the server answers Socket.IO; the official default.
    public var path: String
    /// Transports, upgrade, Engine.IO timeouts and the incoming size bound.
    public var engine: EngineClientConfiguration
    /// Extra query parameters of every Engine.IO request (besides those of the URL).
    public var query: [(String, String)]
    /// Extra HTTP headers on every request: the polling GETs and POSTs and the WebSocket
    /// upgrade (socket.io-client's `extraHeaders`).
    public var headers: HTTPHeaders
    /// Certificates for `https://` and `wss://`.
    public var tls: WebSocketClientTLS
    /// The WebSocket transport's own settings (compression, frame limits, keepalive). Its
    /// `headers` and `tls` are replaced by the two above.
    public var webSocket: WebSocketClientConfiguration
    /// How long a namespace waits for the server's answer to its CONNECT.
    public var connectTimeout: TimeAmount
    public var reconnection: Reconnection
    /// The default acknowledgement timeout of `emit(..., ack:)` and `emitWithAck`; nil
    /// waits until the answer comes or the socket disconnects.
    public var ackTimeout: TimeAmount?
    public var offlineBuffer: OfflineBuffer
    /// Events (or updates) a sequence from `events()` or `updates()` may hold unread.
    public var incomingBufferLimit: Int
    public var decoderLimits: SocketIODecoderLimits
    public var logger: Logger

    /// Reconnection after a lost connection or a failed attempt, as socket.io-client's
    /// Manager does it: delays of `delay`, doubling up to `maximumDelay`, each moved by up
    /// to `randomizationFactor` of itself either way.
    public struct Reconnection: Sendable, Hashable {
        public var isEnabled: Bool
        /// Attempts in a row before giving up; nil never gives up.
        public var maximumAttempts: Int?
        public var delay: TimeAmount
        public var maximumDelay: TimeAmount
        public var randomizationFactor: Double

        public init(
            isEnabled: Bool = true,
            maximumAttempts: Int? = nil,
            delay: TimeAmount = .seconds(1),
            maximumDelay: TimeAmount = .seconds(5),
            randomizationFactor: Double = 0.5
        ) {
            self.isEnabled = isEnabled
            self.maximumAttempts = maximumAttempts
            self.delay = delay
            self.maximumDelay = maximumDelay
            self.randomizationFactor = randomizationFactor
        }

        /// No reconnection: a lost connection stays lost.
        public static let disabled = Reconnection(isEnabled: false)
    }

    /// Where emits wait while a socket is not connected (socket.io-client's `sendBuffer`,
    /// which has no bound).
    public struct OfflineBuffer: Sendable, Hashable {
        public enum Overflow: Sendable, Hashable {
            /// Keep what waits; drop the emit that does not fit.
            case dropNewest
            /// Make room by dropping the emit that waited longest.
            case dropOldest
        }

        /// Packets kept at most; 0 drops every emit made while disconnected.
        public var maximumPackets: Int
        public var overflow: Overflow

        public init(maximumPackets: Int = 1000, overflow: Overflow = .dropNewest) {
            self.maximumPackets = maximumPackets
            self.overflow = overflow
        }
    }

    public init(
        path: String = "/socket.io/",
        engine: EngineClientConfiguration = EngineClientConfiguration(),
        query: [(String, String)] = [],
        headers: HTTPHeaders = HTTPHeaders(),
        tls: WebSocketClientTLS = WebSocketClientTLS(),
        webSocket: WebSocketClientConfiguration = WebSocketClientConfiguration(),
        connectTimeout: TimeAmount = .seconds(20),
        reconnection: Reconnection = Reconnection(),
        ackTimeout: TimeAmount? = .seconds(30),
        offlineBuffer: OfflineBuffer = OfflineBuffer(),
        incomingBufferLimit: Int = 65_536,
        decoderLimits: SocketIODecoderLimits = SocketIODecoderLimits(),
        logger: Logger = Logger(label: "canal.socketio.client", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.path = path
        self.engine = engine
        self.query = query
        self.headers = headers
        self.tls = tls
        self.webSocket = webSocket
        self.connectTimeout = connectTimeout
        self.reconnection = reconnection
        self.ackTimeout = ackTimeout
        self.offlineBuffer = offlineBuffer
        self.incomingBufferLimit = incomingBufferLimit
        self.decoderLimits = decoderLimits
        self.logger = logger
    }

    /// Only these transports, in this order (`[.websocket]` skips long-polling).
    public var transports: [EngineTransport] {
        get { engine.transports }
        set { engine.transports = newValue }
    }
}
