import NIOCore

/// The transports an Engine.IO session can use.
public enum EngineTransport: String, Sendable, Hashable, CaseIterable {
    case polling
    case websocket
}

/// The options of an Engine.IO server, with the official server's defaults.
///
/// | option | default | what happens past it |
/// | --- | --- | --- |
/// | `pingInterval` | 25 s | the server pings this long after the last pong |
/// | `pingTimeout` | 20 s | no pong this long after a ping closes the session ("ping timeout") |
/// | `upgradeTimeout` | 10 s | an upgrade not finished in time is cancelled (the WebSocket is closed) |
/// | `maxHttpBufferSize` | 1,000,000 bytes | a bigger POST is answered 413; a bigger WebSocket message closes the session |
/// | `maxPendingPackets` | 10,000 | packets waiting for a slow polling client; past it the session closes ("slow consumer") |
/// | `maxBufferedBytes` | 4 MiB | bytes written to a WebSocket client and not yet taken by it; past it the session closes ("slow consumer") |
public struct EngineConfiguration: Sendable, Hashable {
    public var pingInterval: TimeAmount
    public var pingTimeout: TimeAmount
    public var upgradeTimeout: TimeAmount
    public var maxHttpBufferSize: Int
    /// Transports a client may use, in the order offered.
    public var transports: [EngineTransport]
    /// Whether a polling session may upgrade to WebSocket.
    public var allowUpgrades: Bool
    /// How long a server-initiated close waits for a polling client to take its last packets.
    public var closeTimeout: TimeAmount
    /// Packets a session may hold for a polling client that does not come back for them.
    public var maxPendingPackets: Int
    /// Bytes a WebSocket client may leave unread before it is disconnected.
    public var maxBufferedBytes: Int

    public init(
        pingInterval: TimeAmount = .seconds(25),
        pingTimeout: TimeAmount = .seconds(20),
        upgradeTimeout: TimeAmount = .seconds(10),
        maxHttpBufferSize: Int = 1_000_000,
        transports: [EngineTransport] = [.polling, .websocket],
        allowUpgrades: Bool = true,
        closeTimeout: TimeAmount = .seconds(30),
        maxPendingPackets: Int = 10_000,
        maxBufferedBytes: Int = 4 * 1024 * 1024
    ) {
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.upgradeTimeout = upgradeTimeout
        self.maxHttpBufferSize = maxHttpBufferSize
        self.transports = transports
        self.allowUpgrades = allowUpgrades
        self.closeTimeout = closeTimeout
        self.maxPendingPackets = maxPendingPackets
        self.maxBufferedBytes = maxBufferedBytes
    }

    /// The upgrades offered to a session on `transport` in its handshake.
    public func upgrades(from transport: EngineTransport) -> [EngineTransport] {
        guard allowUpgrades, transport == .polling, transports.contains(.websocket) else { return [] }
        return [.websocket]
    }

    /// The `open` packet's JSON: `{"sid","upgrades","pingInterval","pingTimeout","maxPayload"}`.
    public func handshakeJSON(sessionID: String, transport: EngineTransport) -> String {
        let upgrades = self.upgrades(from: transport).map { "\"\($0.rawValue)\"" }.joined(separator: ",")
        return "{\"sid\":\(JSONText.quoted(sessionID)),\"upgrades\":[\(upgrades)],"
            + "\"pingInterval\":\(pingInterval.nanoseconds / 1_000_000),"
            + "\"pingTimeout\":\(pingTimeout.nanoseconds / 1_000_000),\"maxPayload\":\(maxHttpBufferSize)}"
    }
}
