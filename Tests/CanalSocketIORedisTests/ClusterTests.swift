import CanalRedis
import CanalRedisTestSupport
import CanalSocketIO
import CanalSocketIOCore
import CanalSocketIORedis
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// Two Socket.IO servers (no clients) joined through a real redis-server.
@Suite(.serialized) struct ClusterTests {
    static let clusterOptions = SocketIORedisOptions(
        heartbeatInterval: .milliseconds(200), heartbeatTimeout: .seconds(2), requestTimeout: .seconds(8),
        sessionRefreshInterval: .milliseconds(200))

    struct Node {
        let cluster: SocketIORedisCluster
        let io: SocketIOServer
        var adapter: SocketIORedisAdapter { io.mainNamespace.adapter as! SocketIORedisAdapter }
    }

    static func node(
        _ server: RedisServerProcess, recovery: Bool = false, options clusterOptions: SocketIORedisOptions = clusterOptions
    ) async throws -> Node {
        let cluster = try await SocketIORedisCluster.connect(url: server.url, options: clusterOptions)
        var options = SocketIOServerOptions()
        if recovery { options.connectionStateRecovery = .init(maxDisconnectionDuration: .seconds(30)) }
        options.adapter = cluster.adapter
        let io = SocketIOServer(options: options)
        _ = io.mainNamespace
        return Node(cluster: cluster, io: io)
    }

    static func eventually(seconds: Double = 20, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try await !condition() {
            guard Date() < deadline else { throw TestFailure("condition not met within \(seconds) s") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func serversSeeEachOtherAndForgetOneThatLeaves() async throws {
        let server = try RedisServerProcess()
        // A heartbeat timeout far past the wait below: only ADAPTER_CLOSE can make b go.
        var patient = Self.clusterOptions
        patient.heartbeatTimeout = .seconds(120)
        let a = try await Self.node(server, options: patient)
        let b = try await Self.node(server, options: patient)
        try await Self.eventually { a.adapter.serverCount == 2 && b.adapter.serverCount == 2 }
        await b.cluster.close()
        try await Self.eventually { a.adapter.serverCount == 1 }
        await a.cluster.close()
    }

    @Test func serverSideEmitReachesTheOtherServerAndItsAnswerComesBack() async throws {
        let server = try RedisServerProcess()
        let a = try await Self.node(server)
        let b = try await Self.node(server)
        let received = NIOLockedValueBox<[[SocketIOValue]]>([])
        b.io.mainNamespace.onServerSideEmit { event in received.withLockedValue { $0.append(event.arguments) } }
        try await Self.eventually { a.adapter.serverCount == 2 }
        a.io.mainNamespace.serverSideEmit("hello", "world", 3)
        try await Self.eventually { received.withLockedValue { $0 } == [["hello", "world", 3]] }
        // fetch-sockets with no sockets anywhere: every server answers, with none.
        #expect(try await a.io.fetchSockets().isEmpty)
        await a.cluster.close()
        await b.cluster.close()
    }

    @Test func fetchSocketsStopsWaitingForAServerThatWentSilent() async throws {
        let server = try RedisServerProcess()
        let a = try await Self.node(server)
        // A server that says it is there (a heartbeat) but never answers.
        let fake = try await RedisConnection.connect(to: RedisConfiguration(url: server.url))
        // It heartbeats until `a` has seen it (`a` may not be reading the stream yet), then
        // goes silent.
        let heartbeat = SocketIOClusterMessage(uid: "deadbeefdeadbeef", namespace: "/", type: .heartbeat)
        try await Self.eventually {
            _ = try await fake.xadd("socket.io", fields: heartbeat.streamFields).get()
            try await Task.sleep(for: .milliseconds(100))
            return a.adapter.serverCount == 2
        }
        let started = Date()
        // The heartbeat timeout (2 s) forgets the silent server before the 8 s request
        // timeout; the request then completes with the answers that came (as the Node adapter's).
        #expect(try await a.io.fetchSockets().isEmpty)
        #expect(Date().timeIntervalSince(started) < 7)
        #expect(a.adapter.serverCount == 1)
        try await fake.close().get()
        await a.cluster.close()
    }

    @Test func sessionPersistedOnOneServerIsRestoredOnAnotherWithTheEventsItMissed() async throws {
        let server = try RedisServerProcess()
        let a = try await Self.node(server, recovery: true)
        let b = try await Self.node(server, recovery: true)
        let redis = try await RedisConnection.connect(to: RedisConfiguration(url: server.url))
        func event(_ name: String) -> SocketIOPacket { SocketIOPacket(type: .event, data: [.string(name)]) }

        a.adapter.broadcast(event("seen"), options: SocketIOBroadcastOptions(rooms: ["blue"]))
        try await Self.eventually { try await redis.xrange("socket.io", from: "-", to: "+").get().count >= 3 }
        let seen = try await redis.xrange("socket.io", from: "-", to: "+").get().last { $0["type"] == ByteBuffer(string: "3") }!
        a.adapter.persistSession(SocketIOSessionSnapshot(id: "sid1", privateID: "pid1", rooms: ["blue"], data: ["n": 1]))
        a.adapter.broadcast(event("missed-1"), options: SocketIOBroadcastOptions(rooms: ["blue"]))
        a.adapter.broadcast(event("other-room"), options: SocketIOBroadcastOptions(rooms: ["red"]))
        a.adapter.broadcast(event("excluded"), options: SocketIOBroadcastOptions(except: ["blue"]))
        a.adapter.broadcast(event("missed-2"), options: SocketIOBroadcastOptions())
        var volatile = SocketIOBroadcastOptions()
        volatile.flags.volatile = true
        a.adapter.broadcast(event("volatile"), options: volatile)
        a.adapter.broadcast(event("to-the-socket"), options: SocketIOBroadcastOptions(rooms: ["sid1"]))
        // B's reader reads them before it restores (it gives what came before its reader's position).
        try await Task.sleep(for: .milliseconds(300))

        let restored = try #require(try await b.adapter.restoreSession(privateID: "pid1", offset: seen.id))
        #expect(restored.snapshot == SocketIOSessionSnapshot(id: "sid1", privateID: "pid1", rooms: ["blue"], data: ["n": 1]))
        let names = restored.missedPackets.compactMap { $0.data?.arrayValue?.first?.stringValue }
        #expect(names == ["missed-1", "missed-2", "to-the-socket"])
        // Each carries its entry id as the offset, in stream order.
        let offsets = restored.missedPackets.compactMap { $0.data?.arrayValue?.last?.stringValue }
        #expect(offsets.count == 3 && offsets == offsets.sorted() && offsets.allSatisfy { $0 > seen.id })
        b.adapter.join("sid1", rooms: ["sid1", "blue"])
        // A session is recovered once.
        #expect(try await b.adapter.restoreSession(privateID: "pid1", offset: seen.id) == nil)
        // An offset no longer (or never) in the stream recovers nothing.
        a.adapter.persistSession(SocketIOSessionSnapshot(id: "sid2", privateID: "pid2", rooms: [], data: nil))
        #expect(try await b.adapter.restoreSession(privateID: "pid2", offset: "1-0") == nil)
        try await redis.close().get()
        await a.cluster.close()
        await b.cluster.close()
    }
}
