import CanalSocketIOCore
import NIOConcurrencyHelpers
import NIOCore

/// Rooms in this process's memory: the adapter of a single server. With connection state
/// recovery on, it also keeps disconnected sessions and the event packets broadcast in
/// the last `maxDisconnectionDuration`, each with an offset the client echoes back.
public final class SocketIOMemoryAdapter: SocketIOAdapter {
    public let context: SocketIOAdapterContext
    private let state = NIOLockedValueBox(State())

    struct State {
        var rooms: [String: Set<String>] = [:]
        var socketRooms: [String: Set<String>] = [:]
        var sessions: [String: (snapshot: SocketIOSessionSnapshot, disconnectedAt: NIODeadline)] = [:]
        var packets: [StoredPacket] = []
        var nextOffset: UInt64 = 0
    }

    struct StoredPacket {
        var offset: String
        var options: SocketIOBroadcastOptions
        var packet: SocketIOPacket
        var emittedAt: NIODeadline
    }

    public init(_ context: SocketIOAdapterContext) {
        self.context = context
    }

    public func join(_ socketID: String, rooms: Set<String>) {
        state.withLockedValue { state in
            state.socketRooms[socketID, default: []].formUnion(rooms)
            for room in rooms { state.rooms[room, default: []].insert(socketID) }
        }
    }

    public func leave(_ socketID: String, room: String) {
        state.withLockedValue { state in
            state.socketRooms[socketID]?.remove(room)
            state.rooms[room]?.remove(socketID)
            if state.rooms[room]?.isEmpty == true { state.rooms.removeValue(forKey: room) }
        }
    }

    public func leaveAll(_ socketID: String) {
        state.withLockedValue { state in
            guard let rooms = state.socketRooms.removeValue(forKey: socketID) else { return }
            for room in rooms {
                state.rooms[room]?.remove(socketID)
                if state.rooms[room]?.isEmpty == true { state.rooms.removeValue(forKey: room) }
            }
        }
    }

    public func rooms(of socketID: String) -> Set<String> {
        state.withLockedValue { $0.socketRooms[socketID] ?? [] }
    }

    public func localSocketIDs(_ options: SocketIOBroadcastOptions) -> Set<String> {
        state.withLockedValue { Self.ids(options, in: $0) }
    }

    private static func ids(_ options: SocketIOBroadcastOptions, in state: State) -> Set<String> {
        var excluded = Set<String>()
        for room in options.except { excluded.formUnion(state.rooms[room] ?? []) }
        var ids = Set<String>()
        if options.rooms.isEmpty {
            for id in state.socketRooms.keys where !excluded.contains(id) { ids.insert(id) }
        } else {
            for room in options.rooms {
                for id in state.rooms[room] ?? [] where !excluded.contains(id) { ids.insert(id) }
            }
        }
        return ids
    }

    public func broadcast(_ packet: SocketIOPacket, options: SocketIOBroadcastOptions) {
        var packet = packet
        let ids = state.withLockedValue { state -> Set<String> in
            if let recovery = context.recovery, packet.type == .event, packet.id == nil, !options.flags.volatile {
                if let first = state.packets.first, first.emittedAt < .now() - recovery.maxDisconnectionDuration {
                    Self.prune(&state, now: .now(), keep: recovery.maxDisconnectionDuration)
                }
                packet = Self.store(packet, options: options, in: &state)
            }
            return Self.ids(options, in: state)
        }
        context.deliver(packet, to: ids, volatile: options.flags.volatile)
    }

    /// Appends the offset to the event's arguments (the client echoes the last one it saw)
    /// and keeps the packet for sessions that come back.
    private static func store(
        _ packet: SocketIOPacket, options: SocketIOBroadcastOptions, in state: inout State
    ) -> SocketIOPacket {
        state.nextOffset += 1
        let offset = "o\(state.nextOffset)"
        var packet = packet
        if case .array(var arguments) = packet.data {
            arguments.append(.string(offset))
            packet.data = .array(arguments)
        }
        state.packets.append(StoredPacket(offset: offset, options: options, packet: packet, emittedAt: .now()))
        return packet
    }

    public func broadcastWithAck(
        _ packet: SocketIOPacket,
        options: SocketIOBroadcastOptions,
        timeout: TimeAmount,
        expect: @escaping @Sendable (Int) -> Void,
        response: @escaping @Sendable ([SocketIOValue]) -> Void
    ) {
        let ids = localSocketIDs(options)
        let count = ids.filter { context.socket($0) != nil }.count
        expect(count)
        context.sockets.deliver(
            SocketIOWirePacket(packet), packet: packet, to: ids, volatile: options.flags.volatile, ack: response)
    }

    public func fetchSockets(_ options: SocketIOBroadcastOptions) async throws -> [SocketIORemoteSocket] {
        localSocketIDs(options).compactMap { context.socket($0)?.remote }
    }

    public func addSockets(_ options: SocketIOBroadcastOptions, rooms: Set<String>) {
        for id in localSocketIDs(options) { context.socket(id)?.join(rooms) }
    }

    public func removeSockets(_ options: SocketIOBroadcastOptions, rooms: Set<String>) {
        for id in localSocketIDs(options) {
            guard let socket = context.socket(id) else { continue }
            for room in rooms { socket.leave(room) }
        }
    }

    public func disconnectSockets(_ options: SocketIOBroadcastOptions, close: Bool) {
        for id in localSocketIDs(options) { context.socket(id)?.disconnect(close: close) }
    }

    public func serverSideEmit(_ arguments: [SocketIOValue]) {}

    public func persistSession(_ session: SocketIOSessionSnapshot) {
        guard let recovery = context.recovery else { return }
        state.withLockedValue { state in
            let now = NIODeadline.now()
            Self.prune(&state, now: now, keep: recovery.maxDisconnectionDuration)
            state.sessions[session.privateID] = (session, now)
        }
    }

    public func restoreSession(privateID: String, offset: String) async throws -> SocketIORestoredSession? {
        guard let recovery = context.recovery else { return nil }
        return state.withLockedValue { state -> SocketIORestoredSession? in
            let now = NIODeadline.now()
            Self.prune(&state, now: now, keep: recovery.maxDisconnectionDuration)
            guard let (snapshot, _) = state.sessions.removeValue(forKey: privateID) else { return nil }
            guard let index = state.packets.firstIndex(where: { $0.offset == offset }) else { return nil }
            // The socket's rooms as they were, plus its own id's room.
            var rooms = snapshot.rooms
            rooms.insert(snapshot.id)
            var missed: [SocketIOPacket] = []
            for stored in state.packets[(index + 1)...] {
                let reaches = stored.options.rooms.isEmpty || !stored.options.rooms.isDisjoint(with: rooms)
                let excluded = !stored.options.except.isDisjoint(with: rooms)
                if reaches, !excluded { missed.append(stored.packet) }
            }
            return SocketIORestoredSession(snapshot: snapshot, missedPackets: missed)
        }
    }

    private static func prune(_ state: inout State, now: NIODeadline, keep: TimeAmount) {
        let oldest = now - keep
        state.sessions = state.sessions.filter { $0.value.disconnectedAt >= oldest }
        if let firstKept = state.packets.firstIndex(where: { $0.emittedAt >= oldest }) {
            if firstKept > 0 { state.packets.removeFirst(firstKept) }
        } else {
            state.packets.removeAll()
        }
    }

    public func close() {}
}
