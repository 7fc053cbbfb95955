import CanalRedis
import CanalSocketIO
import CanalSocketIOCore
import Foundation
import NIOCore

extension SocketIORedisAdapter {
    /// `SET sio:session:<pid> <base64 of MessagePack {sid,pid,rooms,data}> PX <maxDisconnectionDuration>`,
    /// as the streams adapter stores a session.
    public func persistSession(_ session: SocketIOSessionSnapshot) {
        guard let recovery = context.recovery else { return }
        state.withLockedValue { state in
            state.persisted.insert(session.id)
            state.dirty.remove(session.id)
        }
        store(session, expiresIn: recovery.maxDisconnectionDuration)
    }

    private func store(_ session: SocketIOSessionSnapshot, expiresIn expiry: TimeAmount) {
        let key = options.sessionKeyPrefix + session.privateID
        _ = cluster.redis.set(key, Self.encodeSession(session), expiresIn: expiry)
    }

    static func encodeSession(_ session: SocketIOSessionSnapshot) -> ByteBuffer {
        ByteBuffer(string: Data(SocketIOClusterData.session(session).readableBytesView).base64EncodedString())
    }

    static func decodeSession(_ bytes: ByteBuffer) -> SocketIOSessionSnapshot? {
        guard let raw = Data(base64Encoded: String(buffer: bytes)) else { return nil }
        return SocketIOClusterData.session(ByteBuffer(bytes: raw))
    }

    /// Takes the session (once: `MULTI GET DEL EXEC`), checks the client's offset is still
    /// in the stream, and reads the broadcasts after it that reached the session's rooms.
    /// Delivery on this server is held meanwhile, so that the live events follow on.
    public func restoreSession(privateID: String, offset: String) async throws -> SocketIORestoredSession? {
        guard context.recovery != nil, let start = StreamID(offset) else { return nil }
        let redis = cluster.redis
        let stream = options.streamName
        async let sessionBytes = redis.getAndDelete(options.sessionKeyPrefix + privateID).get()
        async let offsetEntry = redis.xrange(stream, from: offset, to: offset).get()
        guard let bytes = try await sessionBytes, try await !offsetEntry.isEmpty,
            let snapshot = Self.decodeSession(bytes), snapshot.privateID == privateID
        else { return nil }
        let delivered = try await cluster.holdDelivery(for: snapshot.id).get()
        do {
            let missed = try await missedPackets(after: start, upTo: delivered, rooms: snapshot.rooms.union([snapshot.id]))
            if let last = StreamID(delivered), start > last {
                // The client is ahead of this server's reader: skip what it already has.
                state.withLockedValue { $0.skipUpTo[snapshot.id] = start }
            }
            return SocketIORestoredSession(snapshot: snapshot, missedPackets: missed)
        } catch {
            cluster.releaseDelivery(for: snapshot.id)
            throw error
        }
    }

    /// The event packets of this namespace in `(start, end]` that reach `rooms`, each
    /// with its entry id appended as offset. Pages of `readCount`, at most 100 pages.
    private func missedPackets(after start: StreamID, upTo end: String, rooms: Set<String>) async throws
        -> [SocketIOPacket]
    {
        guard let last = StreamID(end), start < last else { return [] }
        var packets: [SocketIOPacket] = []
        var from = start.next
        for _ in 0..<100 {
            let entries = try await cluster.redis.xrange(options.streamName, from: from, to: end, count: options.readCount).get()
            for entry in entries {
                guard let message = try? SocketIOClusterMessage(streamFields: entry.fields), message.namespace == context.namespace,
                    message.type == .broadcast, message.data?["requestId"] == nil,
                    var packet = SocketIOClusterData.packet(message.data?["packet"]), packet.id == nil
                else { continue }
                let options = SocketIOClusterData.options(message.data?["opts"])
                let reaches = options.rooms.isEmpty || !options.rooms.isDisjoint(with: rooms)
                guard reaches, options.except.isDisjoint(with: rooms), !options.flags.volatile,
                    case .array(var arguments) = packet.data
                else { continue }
                arguments.append(.string(entry.id))
                packet.data = .array(arguments)
                packets.append(packet)
            }
            guard entries.count == options.readCount, let next = entries.last.flatMap({ StreamID($0.id) }) else { break }
            from = next.next
        }
        return packets
    }

    /// Copies the sessions of connected sockets to Redis (all, or those whose rooms
    /// changed), so that another server can recover them if this one dies. Each copy
    /// expires `maxDisconnectionDuration` plus one refresh interval after it was made.
    func copySessions(all: Bool) {
        guard let recovery = context.recovery else { return }
        let ids: Set<String> = all
            ? local.localSocketIDs(SocketIOBroadcastOptions())
            : state.withLockedValue { state in
                defer { state.dirty.removeAll() }
                return state.dirty
            }
        guard !ids.isEmpty else { return }
        var commands: [RedisCommand] = []
        var privateIDs: [String: String] = [:]
        for id in ids {
            guard let socket = context.socket(id), let privateID = socket.privateID else { continue }
            privateIDs[id] = privateID
            let snapshot = SocketIOSessionSnapshot(
                id: id, privateID: privateID, rooms: local.rooms(of: id).subtracting([id]), data: socket.data)
            var command = RedisCommand("SET", options.sessionKeyPrefix + privateID)
            command.append(Self.encodeSession(snapshot))
            command.append("PX")
            command.append(Int((recovery.maxDisconnectionDuration + options.sessionRefreshInterval).nanoseconds / 1_000_000))
            commands.append(command)
        }
        state.withLockedValue { state in
            for (id, privateID) in privateIDs where !state.persisted.contains(id) { state.privateIDs[id] = privateID }
        }
        guard !commands.isEmpty else { return }
        _ = cluster.redis.send(pipeline: commands)
    }
}
