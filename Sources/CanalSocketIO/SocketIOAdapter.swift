import CanalSocketIOCore
import NIOCore

/// Which sockets a broadcast (or a server-side utility) reaches.
public struct SocketIOBroadcastOptions: Sendable, Hashable {
    /// Sockets in any of these rooms; empty means every socket of the namespace.
    public var rooms: Set<String>
    /// Sockets in any of these rooms are left out.
    public var except: Set<String>
    public var flags: Flags

    public struct Flags: Sendable, Hashable {
        /// Drop the packet for a client that cannot take it now.
        public var volatile: Bool
        /// Ask the transport to compress (kept for API parity; compression is negotiated
        /// per WebSocket connection).
        public var compress: Bool
        /// This node only, even with an adapter that spans several.
        public var local: Bool

        public init(volatile: Bool = false, compress: Bool = true, local: Bool = false) {
            self.volatile = volatile
            self.compress = compress
            self.local = local
        }
    }

    public init(rooms: Set<String> = [], except: Set<String> = [], flags: Flags = Flags()) {
        self.rooms = rooms
        self.except = except
        self.flags = flags
    }
}

/// What an adapter gets from its namespace: the name and the sockets connected to this node.
public struct SocketIOAdapterContext: Sendable {
    public let namespace: String
    /// Connection state recovery, when the server has it on.
    public let recovery: SocketIOServerOptions.ConnectionStateRecovery?
    let sockets: SocketIOLocalSockets
    /// Where a cluster adapter hands in other servers' `serverSideEmit` events.
    public internal(set) var serverSideEvents = SocketIOServerSideEvents()

    /// Delivers one packet to the local sockets with these ids, encoded once for all of
    /// them. Sockets that left meanwhile are skipped.
    public func deliver(_ packet: SocketIOPacket, to ids: some Sequence<String>, volatile: Bool) {
        sockets.deliver(SocketIOWirePacket(packet), packet: packet, to: ids, volatile: volatile)
    }

    /// The local socket with this id, if connected.
    public func socket(_ id: String) -> SocketIOSocket? {
        sockets.socket(id)
    }
}

/// A socket as a server-side utility sees it, on this node or (with a cluster adapter) another.
public struct SocketIORemoteSocket: Sendable, Hashable {
    public var id: String
    public var rooms: Set<String>
    public var data: SocketIOValue
    public var handshake: SocketIOHandshakeInfo

    public init(id: String, rooms: Set<String>, data: SocketIOValue, handshake: SocketIOHandshakeInfo) {
        self.id = id
        self.rooms = rooms
        self.data = data
        self.handshake = handshake
    }
}

/// What a session leaves behind for connection state recovery.
public struct SocketIOSessionSnapshot: Sendable, Hashable {
    public var id: String
    public var privateID: String
    public var rooms: Set<String>
    public var data: SocketIOValue

    public init(id: String, privateID: String, rooms: Set<String>, data: SocketIOValue) {
        self.id = id
        self.privateID = privateID
        self.rooms = rooms
        self.data = data
    }
}

/// A session found again, with the event packets it missed, in order.
public struct SocketIORestoredSession: Sendable, Hashable {
    public var snapshot: SocketIOSessionSnapshot
    public var missedPackets: [SocketIOPacket]

    public init(snapshot: SocketIOSessionSnapshot, missedPackets: [SocketIOPacket]) {
        self.snapshot = snapshot
        self.missedPackets = missedPackets
    }
}

/// Rooms and broadcasts of one namespace. The in-memory `SocketIOMemoryAdapter` serves
/// one node; a cluster adapter (Redis) implements the same calls across nodes, so
/// namespaces never know which they have.
///
/// Calls may come from any thread. Local delivery goes through `SocketIOAdapterContext.deliver`.
public protocol SocketIOAdapter: Sendable {
    /// Adds a local socket to rooms.
    func join(_ socketID: String, rooms: Set<String>)
    /// Removes a local socket from a room.
    func leave(_ socketID: String, room: String)
    /// Removes a local socket from every room (it disconnected).
    func leaveAll(_ socketID: String)
    /// The rooms of a local socket.
    func rooms(of socketID: String) -> Set<String>
    /// The local sockets a broadcast with these options reaches.
    func localSocketIDs(_ options: SocketIOBroadcastOptions) -> Set<String>

    /// Sends an event packet to every socket the options reach (here and, unless `local`,
    /// on other nodes). With recovery on, the adapter stores it with an offset.
    func broadcast(_ packet: SocketIOPacket, options: SocketIOBroadcastOptions)
    /// The same, with an acknowledgement from each client: `expect` is told how many
    /// clients were sent the packet (called once per node), `response` gets each answer.
    func broadcastWithAck(
        _ packet: SocketIOPacket,
        options: SocketIOBroadcastOptions,
        timeout: TimeAmount,
        expect: @escaping @Sendable (Int) -> Void,
        response: @escaping @Sendable ([SocketIOValue]) -> Void
    )

    func fetchSockets(_ options: SocketIOBroadcastOptions) async throws -> [SocketIORemoteSocket]
    func addSockets(_ options: SocketIOBroadcastOptions, rooms: Set<String>)
    func removeSockets(_ options: SocketIOBroadcastOptions, rooms: Set<String>)
    func disconnectSockets(_ options: SocketIOBroadcastOptions, close: Bool)
    /// An event for the other nodes' servers (not for clients). Nothing for a single node.
    func serverSideEmit(_ arguments: [SocketIOValue])

    /// Keeps a disconnected socket's session for recovery.
    func persistSession(_ session: SocketIOSessionSnapshot)
    /// Finds a session by private id, with the packets after `offset`; nil when it expired,
    /// is unknown, or the offset is no longer known.
    func restoreSession(privateID: String, offset: String) async throws -> SocketIORestoredSession?

    func close()
}
