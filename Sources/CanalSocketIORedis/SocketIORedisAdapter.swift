import CanalRedis
import CanalSocketIO
import CanalSocketIOCore
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// The adapter of one namespace in a Redis cluster. Local rooms live in a
/// `SocketIOMemoryAdapter`; what other servers must do goes through the stream as a
/// `SocketIOClusterMessage`. Made by `SocketIORedisCluster.adapter`.
public final class SocketIORedisAdapter: SocketIOAdapter {
    public let context: SocketIOAdapterContext
    let cluster: SocketIORedisCluster
    let local: SocketIOMemoryAdapter
    let state = NIOLockedValueBox(State())
    var namespace: String { context.namespace }
    private var uid: String { cluster.uid }
    var options: SocketIORedisOptions { cluster.options }

    struct State {
        /// Other servers of this namespace, and when each was last heard of.
        var nodes: [String: NIODeadline] = [:]
        var requests: [String: Request] = [:]
        var ackRequests: [String: AckRequest] = [:]
        /// Recovered sockets and the offset their client had: live entries up to it are
        /// not sent again.
        var skipUpTo: [String: StreamID] = [:]
        /// Private ids of local sockets, for their live session copies.
        var privateIDs: [String: String] = [:]
        var dirty: Set<String> = []
        var persisted: Set<String> = []
        var timers: [RepeatedTask] = []
        var closed = false
    }

    struct Request {
        var missing: Set<String>
        var responses: [SocketIOValue]
        var complete: @Sendable (Result<[SocketIOValue], Error>) -> Void
        var timer: Scheduled<Void>?
    }

    struct AckRequest {
        var expect: @Sendable (Int) -> Void
        var response: @Sendable ([SocketIOValue]) -> Void
    }

    /// Ack ids for broadcasts from other servers, far above the namespace's own counter.
    private let remoteAckIDs = NIOLockedValueBox(1 << 40)

    init(context: SocketIOAdapterContext, cluster: SocketIORedisCluster) {
        self.context = context
        self.cluster = cluster
        self.local = SocketIOMemoryAdapter(context)
    }

    func start() {
        publish(.initialHeartbeat)
        let loop = cluster.eventLoop
        var timers = [
            loop.scheduleRepeatedTask(initialDelay: options.heartbeatInterval, delay: options.heartbeatInterval) { _ in
                self.publish(.heartbeat)
            },
            loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in self.forgetSilentNodes() },
        ]
        if context.recovery != nil {
            timers.append(
                loop.scheduleRepeatedTask(initialDelay: options.sessionRefreshInterval, delay: options.sessionRefreshInterval) {
                    _ in self.copySessions(all: true)
                })
            timers.append(
                loop.scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) { _ in
                    self.copySessions(all: false)
                })
        }
        state.withLockedValue { $0.timers = timers }
    }

    // MARK: Local rooms

    public func join(_ socketID: String, rooms: Set<String>) {
        local.join(socketID, rooms: rooms)
        cluster.releaseDelivery(for: socketID)
        if context.recovery != nil { state.withLockedValue { _ = $0.dirty.insert(socketID) } }
    }

    public func leave(_ socketID: String, room: String) {
        local.leave(socketID, room: room)
        if context.recovery != nil { state.withLockedValue { _ = $0.dirty.insert(socketID) } }
    }

    public func leaveAll(_ socketID: String) {
        local.leaveAll(socketID)
        let staleKey = state.withLockedValue { state -> String? in
            state.dirty.remove(socketID)
            state.skipUpTo.removeValue(forKey: socketID)
            let privateID = state.privateIDs.removeValue(forKey: socketID)
            // Left for good (not a recoverable disconnect): its live copy must not be recovered.
            return state.persisted.remove(socketID) == nil ? privateID : nil
        }
        if let staleKey { _ = cluster.redis.delete([options.sessionKeyPrefix + staleKey]) }
    }

    public func rooms(of socketID: String) -> Set<String> { local.rooms(of: socketID) }

    public func localSocketIDs(_ options: SocketIOBroadcastOptions) -> Set<String> { local.localSocketIDs(options) }

    // MARK: Broadcasting

    public func broadcast(_ packet: SocketIOPacket, options: SocketIOBroadcastOptions) {
        guard !options.flags.local else {
            context.deliver(packet, to: local.localSocketIDs(options), volatile: options.flags.volatile)
            return
        }
        var wirePacket = packet
        wirePacket.id = nil
        let message = message(.broadcast, [
            "packet": SocketIOClusterData.packet(wirePacket), "opts": SocketIOClusterData.options(options),
        ])
        // Delivered here too when the reader reads it back, in stream order. If Redis is
        // away, the local sockets still get it (without an offset); the others cannot.
        cluster.publish(message).whenFailure { error in
            self.cluster.logger.warning("! broadcast to \(self.namespace) not shared: \(error)")
            self.context.deliver(packet, to: self.local.localSocketIDs(options), volatile: options.flags.volatile)
        }
    }

    public func broadcastWithAck(
        _ packet: SocketIOPacket,
        options: SocketIOBroadcastOptions,
        timeout: TimeAmount,
        expect: @escaping @Sendable (Int) -> Void,
        response: @escaping @Sendable ([SocketIOValue]) -> Void
    ) {
        if !options.flags.local {
            let requestID = SocketIORedisCluster.randomHex(bytes: 8)
            let others = state.withLockedValue { state -> Int in
                state.ackRequests[requestID] = AckRequest(expect: expect, response: response)
                return state.nodes.count
            }
            // One placeholder per other server, each replaced by its count when it comes:
            // the collector cannot finish before every server has said how many to wait for.
            expect(others)
            cluster.eventLoop.scheduleTask(in: timeout) {
                self.state.withLockedValue { _ = $0.ackRequests.removeValue(forKey: requestID) }
            }
            var wirePacket = packet
            wirePacket.id = nil
            publish(.broadcast, [
                "packet": SocketIOClusterData.packet(wirePacket), "requestId": .string(requestID),
                "opts": SocketIOClusterData.options(options, timeout: timeout),
            ])
        }
        local.broadcastWithAck(packet, options: options, timeout: timeout, expect: expect, response: response)
    }

    // MARK: Server-side utilities

    public func fetchSockets(_ options: SocketIOBroadcastOptions) async throws -> [SocketIORemoteSocket] {
        let mine = try await local.fetchSockets(options)
        let others = state.withLockedValue { Set($0.nodes.keys) }
        guard !options.flags.local, !others.isEmpty else { return mine }
        let theirs = try await request(.fetchSockets, ["opts": SocketIOClusterData.options(options)], from: others)
        return mine + theirs.flatMap { $0.arrayValue ?? [] }.compactMap(SocketIOClusterData.socket)
    }

    public func addSockets(_ options: SocketIOBroadcastOptions, rooms: Set<String>) {
        if !options.flags.local {
            publish(.socketsJoin, ["opts": SocketIOClusterData.options(options), "rooms": .array(rooms.sorted().map { .string($0) })])
        }
        local.addSockets(options, rooms: rooms)
    }

    public func removeSockets(_ options: SocketIOBroadcastOptions, rooms: Set<String>) {
        if !options.flags.local {
            publish(.socketsLeave, ["opts": SocketIOClusterData.options(options), "rooms": .array(rooms.sorted().map { .string($0) })])
        }
        local.removeSockets(options, rooms: rooms)
    }

    public func disconnectSockets(_ options: SocketIOBroadcastOptions, close: Bool) {
        if !options.flags.local {
            publish(.disconnectSockets, ["opts": SocketIOClusterData.options(options), "close": .bool(close)])
        }
        local.disconnectSockets(options, close: close)
    }

    public func serverSideEmit(_ arguments: [SocketIOValue]) {
        publish(.serverSideEmit, ["packet": .array(arguments)])
    }

    /// How many servers serve this namespace, this one included, as far as the heartbeats tell.
    public var serverCount: Int { 1 + state.withLockedValue { $0.nodes.count } }

    // MARK: Messages

    func message(_ type: SocketIOClusterMessageType, _ data: SocketIOObject? = nil) -> SocketIOClusterMessage {
        SocketIOClusterMessage(uid: uid, namespace: namespace, type: type, data: data.map { .object($0) })
    }

    func publish(_ type: SocketIOClusterMessageType, _ data: SocketIOObject? = nil) {
        cluster.publish(message(type, data)).whenFailure { error in
            self.cluster.logger.debug("! publishing \(type) for \(self.namespace): \(error)")
        }
    }

    /// Asks the other servers and gathers one answer each (`data.<responseKey>`), or fails
    /// after the request timeout. A server that leaves the cluster meanwhile is not waited for.
    private func request(
        _ type: SocketIOClusterMessageType, _ data: SocketIOObject, from nodes: Set<String>
    ) async throws -> [SocketIOValue] {
        let requestID = SocketIORedisCluster.randomHex(bytes: 8)
        let promise = cluster.eventLoop.makePromise(of: [SocketIOValue].self)
        let timer = cluster.eventLoop.scheduleTask(in: options.requestTimeout) {
            let missing = self.state.withLockedValue { $0.requests.removeValue(forKey: requestID)?.missing.count }
            if let missing { promise.fail(SocketIORedisError.timeout(missingServers: missing)) }
        }
        state.withLockedValue { state in
            state.requests[requestID] = Request(
                missing: nodes, responses: [], complete: { promise.completeWith($0) }, timer: timer)
        }
        var data = data
        data["requestId"] = .string(requestID)
        publish(type, data)
        return try await promise.futureResult.get()
    }

    public func close() {
        let timers = state.withLockedValue { state -> [RepeatedTask] in
            state.closed = true
            defer { state.timers.removeAll() }
            return state.timers
        }
        for timer in timers { timer.cancel() }
        publish(.adapterClose)
        cluster.removeAdapter(namespace)
    }

    func nextRemoteAckID() -> Int {
        remoteAckIDs.withLockedValue { id in
            defer { id += 1 }
            return id
        }
    }
}

/// What a cluster request can fail with.
public enum SocketIORedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Some servers did not answer within `requestTimeout`.
    case timeout(missingServers: Int)

    public var description: String {
        switch self {
        case .timeout(let missing): return "timeout reached: \(missing) servers did not answer"
        }
    }
}
