import NIOCore

/// How an Engine.IO client opens and keeps its session, with engine.io-client's defaults
/// where it has them.
///
/// | option | default | what happens past it |
/// | --- | --- | --- |
/// | `transports` | polling, then websocket | the first one opens the session |
/// | `upgrade` | true | a polling session probes a WebSocket and moves to it |
/// | `openTimeout` | 20 s | no `open` packet in time ends the attempt ("timeout") |
/// | `upgradeTimeout` | 10 s | a probe not finished in time is abandoned; the session stays on polling |
/// | `maxPayloadBytes` | 16 MiB | a bigger polling response or WebSocket message ends the session ("parse error") |
/// | `maxPendingPackets` | 10,000 | packets waiting for the transport (a POST in flight, an upgrade); past it the session ends ("transport error") |
public struct EngineClientConfiguration: Sendable, Hashable {
    /// The transports to use, in order: the first opens the session; `websocket` later in the
    /// list is what a polling session upgrades to.
    public var transports: [EngineTransport]
    /// Whether a polling session moves to WebSocket when the server offers it.
    public var upgrade: Bool
    public var openTimeout: TimeAmount
    public var upgradeTimeout: TimeAmount
    /// The largest polling body or WebSocket message taken from the server. engine.io-client
    /// has no bound; this one keeps a misbehaving server from filling memory.
    public var maxPayloadBytes: Int
    /// Packets the client may hold while the transport cannot take them.
    public var maxPendingPackets: Int

    public init(
        transports: [EngineTransport] = [.polling, .websocket],
        upgrade: Bool = true,
        openTimeout: TimeAmount = .seconds(20),
        upgradeTimeout: TimeAmount = .seconds(10),
        maxPayloadBytes: Int = 16 * 1024 * 1024,
        maxPendingPackets: Int = 10_000
    ) {
        self.transports = transports
        self.upgrade = upgrade
        self.openTimeout = openTimeout
        self.upgradeTimeout = upgradeTimeout
        self.maxPayloadBytes = maxPayloadBytes
        self.maxPendingPackets = maxPendingPackets
    }

    /// The transport that opens the session.
    public var initialTransport: EngineTransport { transports.first ?? .polling }

    /// Whether a session opened on polling with `handshake` should probe a WebSocket.
    public func shouldUpgrade(_ handshake: EngineHandshake, from transport: EngineTransport) -> Bool {
        upgrade && transport == .polling && transports.contains(.websocket)
            && handshake.upgrades.contains(EngineTransport.websocket.rawValue)
    }
}
