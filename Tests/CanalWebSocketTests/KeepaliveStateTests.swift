@testable import CanalWebSocket
import NIOCore
import NIOEmbedded
import Testing

/// The keepalive state machine with injected time, then the channel handler driving it on
/// an embedded event loop whose clock the test advances: no real timers anywhere.
@Suite
struct KeepaliveStateTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func at(_ seconds: Int64) -> NIODeadline { start + .seconds(seconds) }

    // MARK: The state machine

    @Test
    func keepalivePingsAfterTheIntervalAndTimesOutWhenTheTimeoutSaysNotAtTheNextInterval() {
        var keepalive = WebSocketKeepalive(interval: .seconds(30), timeout: .seconds(10), now: Self.start)
        #expect(keepalive.deadline == Self.at(30))
        let outcome1 = keepalive.tick(now: Self.at(29))
        #expect(outcome1 == .none)
        guard case .sendPing = keepalive.tick(now: Self.at(30)) else {
            Issue.record("no ping at 30 s")
            return
        }
        #expect(keepalive.deadline == Self.at(40))
        let outcome2 = keepalive.tick(now: Self.at(39))
        #expect(outcome2 == .none)
        let outcome3 = keepalive.tick(now: Self.at(40))
        #expect(outcome3 == .timedOut)
        #expect(keepalive.deadline == nil)
        let outcome4 = keepalive.tick(now: Self.at(100))
        #expect(outcome4 == .none)
    }

    @Test
    func keepaliveMatchingPongSchedulesTheNextPingOneIntervalAfterThePrevious() {
        var keepalive = WebSocketKeepalive(interval: .seconds(30), timeout: .seconds(10), now: Self.start)
        guard case .sendPing(let payload) = keepalive.tick(now: Self.at(30)) else {
            Issue.record("no ping at 30 s")
            return
        }
        let outcome5 = keepalive.pongReceived(payload, now: Self.at(32))
        #expect(outcome5)
        #expect(keepalive.deadline == Self.at(60))
        let outcome6 = keepalive.tick(now: Self.at(45))
        #expect(outcome6 == .none)
        guard case .sendPing(let second) = keepalive.tick(now: Self.at(60)) else {
            Issue.record("no ping at 60 s")
            return
        }
        #expect(second != payload, "each ping has its own payload")
    }

    @Test
    func keepaliveUnsolicitedOrStalePongDoesNotAnswerThePing() {
        // RFC 6455 §5.5.3: a pong may be sent unsolicited; it is not the answer.
        var keepalive = WebSocketKeepalive(interval: .seconds(30), timeout: .seconds(10), now: Self.start)
        let beforeAnyPing = keepalive.pongReceived(ByteBuffer(), now: Self.at(5))
        #expect(!beforeAnyPing, "no ping is waiting")
        guard case .sendPing(let first) = keepalive.tick(now: Self.at(30)) else { return }
        let outcome7 = keepalive.pongReceived(first, now: Self.at(31))
        #expect(outcome7)
        guard case .sendPing = keepalive.tick(now: Self.at(60)) else { return }
        let empty = keepalive.pongReceived(ByteBuffer(), now: Self.at(61))
        #expect(!empty)
        let outcome8 = keepalive.pongReceived(first, now: Self.at(62))
        #expect(!outcome8, "the previous ping's pong")
        let heartbeat = keepalive.pongReceived(ByteBuffer(string: "heartbeat"), now: Self.at(63))
        #expect(!heartbeat)
        let outcome9 = keepalive.tick(now: Self.at(70))
        #expect(outcome9 == .timedOut)
    }

    @Test
    func keepaliveLatePongWithTimeoutLongerThanIntervalPingsAgainAtOnce() {
        var keepalive = WebSocketKeepalive(interval: .seconds(5), timeout: .seconds(20), now: Self.start)
        guard case .sendPing(let payload) = keepalive.tick(now: Self.at(5)) else { return }
        let outcome10 = keepalive.pongReceived(payload, now: Self.at(15))
        #expect(outcome10)
        #expect(keepalive.deadline == Self.at(15))
    }

    @Test
    func keepaliveStoppedDoesNothing() {
        var keepalive = WebSocketKeepalive(interval: .seconds(1), timeout: .seconds(1), now: Self.start)
        keepalive.stop()
        #expect(keepalive.deadline == nil)
        let outcome11 = keepalive.tick(now: Self.at(10))
        #expect(outcome11 == .none)
    }

    // MARK: The channel handler on an embedded loop

    /// A server handler on an embedded channel whose loop clock starts at 0, with keepalive.
    private func serverChannel(interval: Int64, timeout: Int64) throws -> (EmbeddedChannel, EmbeddedEventLoop) {
        let loop = EmbeddedEventLoop()
        let handler = WebSocketChannelHandler(
            connection: WebSocketConnection(role: .server),
            timeouts: WebSocketTimeouts(
                keepaliveInterval: .seconds(interval),
                keepaliveTimeout: .seconds(timeout),
                closeTimeout: .seconds(5)
            ),
            callback: { _, _ in }
        )
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, loop)
    }

    /// What the server wrote, as a client reads it.
    private func written(_ channel: EmbeddedChannel) throws -> [WebSocketEvent] {
        var client = WebSocketConnection(role: .client, configuration: WebSocketConfiguration(autoReplyToPings: false))
        var events: [WebSocketEvent] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            client.receive(buffer)
            while let event = client.nextEvent() { events.append(event) }
        }
        return events
    }

    private func clientBytes(_ build: (inout WebSocketConnection) throws -> Void) throws -> ByteBuffer {
        var client = WebSocketConnection(role: .client)
        try build(&client)
        var bytes = ByteBuffer()
        while let output = client.nextOutput() {
            if case .bytes(var chunk) = output { bytes.writeBuffer(&chunk) }
        }
        return bytes
    }

    @Test
    func serverWithInterval30AndTimeout10ClosesWith1011TenSecondsAfterThePing() throws {
        let (channel, loop) = try serverChannel(interval: 30, timeout: 10)
        loop.advanceTime(by: .seconds(29))
        #expect(try written(channel) == [])
        loop.advanceTime(by: .seconds(1))
        let ping = try written(channel)
        #expect(ping.count == 1)
        guard case .ping = ping.first else {
            Issue.record("expected a ping at 30 s, got \(ping)")
            return
        }
        loop.advanceTime(by: .seconds(9))
        #expect(try written(channel) == [])
        loop.advanceTime(by: .seconds(1))
        #expect(try written(channel) == [.closeReceived(code: .internalError, reason: "keepalive ping timeout")])
        _ = try? channel.finish()
    }

    @Test
    func serverIgnoresUnsolicitedPongAndStillTimesOut() throws {
        let (channel, loop) = try serverChannel(interval: 30, timeout: 10)
        loop.advanceTime(by: .seconds(30))
        _ = try written(channel)
        try channel.writeInbound(try clientBytes { try $0.sendPong(ByteBuffer(string: "unsolicited")) })
        loop.advanceTime(by: .seconds(10))
        #expect(try written(channel) == [.closeReceived(code: .internalError, reason: "keepalive ping timeout")])
        _ = try? channel.finish()
    }

    @Test
    func serverGettingTheMatchingPongPingsAgainAtTheNextInterval() throws {
        let (channel, loop) = try serverChannel(interval: 30, timeout: 10)
        loop.advanceTime(by: .seconds(30))
        guard case .ping(let payload)? = try written(channel).first else {
            Issue.record("no ping")
            return
        }
        loop.advanceTime(by: .seconds(2))
        try channel.writeInbound(try clientBytes { try $0.sendPong(payload) })
        loop.advanceTime(by: .seconds(27))
        #expect(try written(channel) == [])
        loop.advanceTime(by: .seconds(1))
        guard case .ping(let second)? = try written(channel).first else {
            Issue.record("no second ping at 60 s")
            return
        }
        #expect(second != payload)
        #expect(channel.isActive)
        _ = try? channel.finish()
    }
}
