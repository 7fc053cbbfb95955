import Foundation
import NIOCore

/// What the server says in the `open` packet that starts an Engine.IO v4 session:
/// `0{"sid":"...","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`.
///
/// Use it on the client side to learn the session id and the heartbeat the server keeps.
public struct EngineHandshake: Sendable, Hashable, Decodable {
    /// The session id, sent back as `sid` on every later request.
    public var sid: String
    /// Transports the session may upgrade to (`websocket`, for a polling session).
    public var upgrades: [String]
    /// Milliseconds between the server's pings.
    public var pingInterval: Int
    /// Milliseconds the server waits for a pong.
    public var pingTimeout: Int
    /// The most bytes the server takes in one request body (`maxHttpBufferSize`); nil when
    /// the server does not say (Engine.IO before 6.2).
    public var maxPayload: Int?

    public init(sid: String, upgrades: [String], pingInterval: Int, pingTimeout: Int, maxPayload: Int? = nil) {
        self.sid = sid
        self.upgrades = upgrades
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.maxPayload = maxPayload
    }

    /// Parses the data of an `open` packet; nil when it is not the JSON object the protocol
    /// describes (a missing or empty `sid`, negative timings).
    public init?(openPacketData data: ByteBuffer) {
        guard let decoded = try? JSONDecoder().decode(EngineHandshake.self, from: Data(data.readableBytesView)),
            !decoded.sid.isEmpty, decoded.pingInterval >= 0, decoded.pingTimeout >= 0
        else { return nil }
        self = decoded
    }

    private enum CodingKeys: String, CodingKey {
        case sid, upgrades, pingInterval, pingTimeout, maxPayload
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sid = try container.decode(String.self, forKey: .sid)
        upgrades = try container.decodeIfPresent([String].self, forKey: .upgrades) ?? []
        pingInterval = try container.decode(Int.self, forKey: .pingInterval)
        pingTimeout = try container.decode(Int.self, forKey: .pingTimeout)
        maxPayload = try container.decodeIfPresent(Int.self, forKey: .maxPayload)
    }

    /// How long the client waits for the next ping before it gives the session up:
    /// `pingInterval + pingTimeout`, as engine.io-client does.
    public var heartbeatTimeout: TimeAmount { .milliseconds(Int64(pingInterval) + Int64(pingTimeout)) }
}
