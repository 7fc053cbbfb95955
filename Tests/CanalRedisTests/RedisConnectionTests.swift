import CanalRedis
import CanalRedisTestSupport
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// RedisConnection against a real redis-server on loopback.
@Suite(.serialized) struct RedisConnectionTests {
    static func configuration(_ url: String, timeout: TimeAmount = .seconds(2)) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: url)
        configuration.commandTimeout = timeout
        configuration.connectTimeout = .seconds(1)
        configuration.reconnect = RedisBackoff(initial: .milliseconds(20), maximum: .milliseconds(200))
        return configuration
    }

    /// Collects pub/sub messages; waits for a count.
    final class Inbox: Sendable {
        private let messages = NIOLockedValueBox<[RedisPubSubMessage]>([])
        func add(_ message: RedisPubSubMessage) { messages.withLockedValue { $0.append(message) } }
        var all: [RedisPubSubMessage] { messages.withLockedValue { $0 } }
        func wait(for count: Int, seconds: Double = 20) async throws -> [RedisPubSubMessage] {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                let now = all
                if now.count >= count { return now }
                try await Task.sleep(for: .milliseconds(10))
            }
            throw TestFailure("got \(all.count) messages, wanted \(count): \(all)")
        }
    }

    @Test func clientPipelinesAThousandCommandsAndRepliesComeInOrder() async throws {
        let server = try RedisServerProcess()
        let redis = try await RedisConnection.connect(to: Self.configuration(server.url))
        let futures = (0..<1000).map { _ in redis.send(["INCR", "counter"]) }
        var values: [Int64] = []
        for future in futures { values.append(try await future.get().integer ?? -1) }
        #expect(values == Array(1...1000))
        let replies = try await redis.send(pipeline: [["SET", "a", "1"], ["NOSUCHCOMMAND"], ["GET", "a"]]).get()
        #expect(replies.count == 3 && replies[0] == .simpleString("OK") && replies[2].string == "1")
        guard case .error(let message) = replies[1] else { throw TestFailure("expected an error reply") }
        #expect(message.hasPrefix("ERR"))
        try await redis.close().get()
    }

    @Test func clientSetsGetsExpiresAndGetsAndDeletes() async throws {
        let server = try RedisServerProcess()
        let redis = try await RedisConnection.connect(to: Self.configuration(server.url))
        try await redis.set("k", ByteBuffer(bytes: [0, 13, 10, 255]), expiresIn: .seconds(60)).get()
        #expect(try await redis.get("k").get() == ByteBuffer(bytes: [0, 13, 10, 255]))
        let ttl = try await redis.run(["PTTL", "k"]).integer ?? -1
        #expect(ttl > 0 && ttl <= 60_000)
        try await redis.set("short", ByteBuffer(string: "v"), expiresIn: .milliseconds(100)).get()
        let deadline = ContinuousClock.now + .seconds(20)
        while try await redis.get("short").get() != nil {
            guard ContinuousClock.now < deadline else { throw TestFailure("a 100 ms key still there after 20 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await redis.set("once", ByteBuffer(string: "v")).get()
        #expect(try await redis.getAndDelete("once").get() == ByteBuffer(string: "v"))
        #expect(try await redis.getAndDelete("once").get() == nil)
        try await redis.set("plain", ByteBuffer(string: "x")).get()
        do {
            _ = try await redis.run(["LPUSH", "plain", "y"])
            Issue.record("LPUSH on a string succeeded")
        } catch let error as RedisError {
            #expect(error.kind == .server && error.message.hasPrefix("WRONGTYPE"))
        }
        try await redis.close().get()
    }

    @Test func clientReceivesChannelPatternAndShardMessages() async throws {
        let server = try RedisServerProcess()
        let redis = try await RedisConnection.connect(to: Self.configuration(server.url))
        let inbox = Inbox()
        try await redis.subscribe(["news"], kind: .channel) { inbox.add($0) }.get()
        try await redis.subscribe(["room.*"], kind: .pattern) { inbox.add($0) }.get()
        try await redis.subscribe(["shard-1"], kind: .shard) { inbox.add($0) }.get()
        #expect(try await redis.publish(ByteBuffer(string: "a"), to: "news").get() == 1)
        #expect(try await redis.publish(ByteBuffer(string: "b"), to: "room.42").get() == 1)
        #expect(try await redis.publish(ByteBuffer(string: "c"), to: "shard-1", sharded: true).get() == 1)
        #expect(try await redis.publish(ByteBuffer(string: "d"), to: "elsewhere").get() == 0)
        let messages = try await inbox.wait(for: 3)
        #expect(messages.contains(RedisPubSubMessage(kind: .channel, channel: "news", payload: ByteBuffer(string: "a"))))
        #expect(messages.contains(RedisPubSubMessage(kind: .pattern, channel: "room.42", pattern: "room.*",
            payload: ByteBuffer(string: "b"))))
        #expect(messages.contains(RedisPubSubMessage(kind: .shard, channel: "shard-1", payload: ByteBuffer(string: "c"))))
        try await redis.unsubscribe(["news"], kind: .channel).get()
        #expect(try await redis.publish(ByteBuffer(string: "e"), to: "news").get() == 0)
        // The command connection is not in subscribe mode: it still runs commands.
        #expect(try await redis.run(["PING"]) == .simpleString("PONG"))
        try await redis.close().get()
    }

    @Test func clientAddsTrimsRangesAndBlockingReadsStreamEntries() async throws {
        let server = try RedisServerProcess()
        let redis = try await RedisConnection.connect(to: Self.configuration(server.url))
        var ids: [String] = []
        for index in 0..<5 {
            ids.append(try await redis.xadd("s", fields: [("n", ByteBuffer(string: "\(index)")), ("bin", ByteBuffer(bytes: [0, 255]))],
                maxLength: 1000).get())
        }
        let all = try await redis.xrange("s", from: "-", to: "+").get()
        #expect(all.map(\.id) == ids && all.map { $0["n"].map { String(buffer: $0) } } == ["0", "1", "2", "3", "4"])
        #expect(all[0]["bin"] == ByteBuffer(bytes: [0, 255]))
        let page = try await redis.xrange("s", from: ids[1], to: "+", count: 2).get()
        #expect(page.map(\.id) == [ids[1], ids[2]])
        #expect(try await redis.xread("s", after: ids[3]).get().map(\.id) == [ids[4]])

        // A blocking read on its own connection wakes up for an entry added later.
        let reader = redis.duplicate()
        async let woken = reader.xread("s", after: "$", count: 10, block: .seconds(5)).get()
        try await Task.sleep(for: .milliseconds(200))
        let late = try await redis.xadd("s", fields: [("n", ByteBuffer(string: "late"))]).get()
        #expect(try await woken.map(\.id) == [late])
        // And returns empty when its block time passes.
        #expect(try await reader.xread("s", after: "$", block: .milliseconds(100)).get().isEmpty)
        try await reader.close().get()
        try await redis.close().get()
    }

    @Test func clientAuthenticatesAndSelectsTheDatabaseFromTheURL() async throws {
        let server = try RedisServerProcess(arguments: ["--requirepass", "s3cret"])
        let db3 = try await RedisConnection.connect(to: Self.configuration("redis://:s3cret@127.0.0.1:\(server.port)/3"))
        try await db3.set("where", ByteBuffer(string: "three")).get()
        let db0 = try await RedisConnection.connect(to: Self.configuration("redis://:s3cret@127.0.0.1:\(server.port)"))
        #expect(try await db0.get("where").get() == nil)
        #expect(try await db3.get("where").get() == ByteBuffer(string: "three"))
        do {
            _ = try await RedisConnection.connect(to: Self.configuration("redis://:wrong@127.0.0.1:\(server.port)"))
            Issue.record("a wrong password connected")
        } catch let error as RedisError {
            #expect(error.kind == .server && error.message.contains("WRONGPASS"))
        }
        try await db3.close().get()
        try await db0.close().get()
    }

    @Test func commandTimesOutWhenTheServerHangsAndTheClientRecovers() async throws {
        let server = try RedisServerProcess()
        let redis = try await RedisConnection.connect(to: Self.configuration(server.url, timeout: .milliseconds(300)))
        server.pause()
        let started = Date()
        do {
            _ = try await redis.run(["PING"])
            Issue.record("a paused server answered")
        } catch let error as RedisError {
            #expect(error.kind == .timeout)
        }
        #expect(Date().timeIntervalSince(started) < 2)
        server.resume()
        #expect(try await Self.eventually { try await redis.run(["PING"]) } == .simpleString("PONG"))
        try await redis.close().get()
    }

    @Test func clientRidesOutARedisRestartAndKeepsItsSubscriptions() async throws {
        let server = try RedisServerProcess()
        let redis = try await RedisConnection.connect(to: Self.configuration(server.url, timeout: .seconds(5)))
        let inbox = Inbox()
        try await redis.subscribe(["events"], kind: .channel) { inbox.add($0) }.get()
        try await redis.subscribe(["p.*"], kind: .pattern) { inbox.add($0) }.get()
        try await redis.set("before", ByteBuffer(string: "1")).get()
        server.kill()
        // Once the client has seen the loss, a command waits and goes out when the server is
        // back (one written just before the loss fails as lost: it may have run).
        try await Task.sleep(for: .milliseconds(200))
        let queued = redis.send(["SET", "during", "2"])
        try await Task.sleep(for: .milliseconds(300))
        try server.start()
        #expect(try await queued.get() == .simpleString("OK"))
        #expect(try await redis.get("during").get() == ByteBuffer(string: "2"))
        // Nothing was saved: the restarted server is empty.
        #expect(try await redis.get("before").get() == nil)
        // Subscriptions come back by themselves.
        _ = try await Self.eventually {
            guard try await redis.publish(ByteBuffer(string: "x"), to: "p.1").get() == 1 else { throw TestFailure("no subscriber yet") }
        }
        _ = try await Self.eventually {
            guard try await redis.publish(ByteBuffer(string: "y"), to: "events").get() == 1 else { throw TestFailure("no subscriber yet") }
        }
        let messages = try await inbox.wait(for: 2)
        #expect(Set(messages.map(\.channel)) == ["p.1", "events"])
        try await redis.close().get()
    }

    @Test func commandsWaitingTooLongForADownServerTimeOut() async throws {
        let server = try RedisServerProcess()
        let redis = try await RedisConnection.connect(to: Self.configuration(server.url, timeout: .milliseconds(300)))
        server.kill()
        do {
            _ = try await redis.run(["PING"])
            Issue.record("a dead server answered")
        } catch let error as RedisError {
            #expect(error.kind == .timeout || error.kind == .connectionLost)
        }
        try await redis.close().get()
        await #expect(throws: RedisError.self) { _ = try await redis.run(["PING"]) }
    }

    @Test func connectingToNothingFailsWithAClearError() async throws {
        let port = try RedisServerProcess.freePort()
        do {
            _ = try await RedisConnection.connect(to: Self.configuration("redis://127.0.0.1:\(port)", timeout: .milliseconds(300)))
            Issue.record("connected to a closed port")
        } catch let error as RedisError {
            #expect(error.kind == .timeout && error.message.contains("could not connect"))
        }
    }

    static func eventually<T>(seconds: Double = 20, _ body: () async throws -> T) async throws -> T {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            do {
                return try await body()
            } catch {
                if Date() > deadline { throw error }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}
