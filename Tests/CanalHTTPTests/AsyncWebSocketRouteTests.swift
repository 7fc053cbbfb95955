import CanalHTTP
@testable import CanalWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// `.async` handlers on `HTTPRouter.webSocket` routes: the same closure-scoped connections
/// as `WebSocketServer`, on the port that also serves HTTP.
@Suite(.timeLimit(.minutes(1)))
struct AsyncWebSocketRouteTests {
    /// Binds a server for `router`, runs `body`, then shuts the server down.
    func withServer(
        _ router: HTTPRouter,
        accessLogger: Logger? = nil,
        _ body: @escaping @Sendable (HTTPServer) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        let server = try await HTTPServer.bind(
            host: "127.0.0.1", port: 0, router: router, eventLoopGroup: group, accessLogger: accessLogger)
        let running = Task { try await server.run() }
        do {
            try await withTimeout(.seconds(60), "test body") { try await body(server) }
        } catch {
            server.shutdown()
            throw error
        }
        server.shutdown()
        try await withTimeout(.seconds(15), "shutdown") { try await running.value }
    }

    static let echo = WebSocketServerHandler.async { inbound, outbound, _ in
        for try await message in inbound.messages { try await outbound.send(message) }
    }

    @Test func asyncRouteEchoesMessagesThroughTheInboundSequence() async throws {
        var router = HTTPRouter()
        router.get("/hello") { _ in .text("hello\n") }
        router.webSocket("/echo", handler: Self.echo)
        try await withServer(router) { server in
            let replies = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(server.port)/echo") {
                inbound, outbound, _ in
                var replies: [WebSocketMessage] = []
                var messages = inbound.messages.makeAsyncIterator()
                for message: WebSocketMessage in [.text("one"), .binary([0, 1, 2, 255]), .text(""), .text("ü✓")] {
                    try await outbound.send(message)
                    if let reply = try await messages.next() { replies.append(reply) }
                }
                return replies
            }
            #expect(replies == [.text("one"), .binary([0, 1, 2, 255]), .text(""), .text("ü✓")])
            // The port still answers plain HTTP.
            let connection = try await RawConnection.connect(port: server.port)
            defer { connection.close() }
            try await connection.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await connection.responses(1)[0].text == "hello\n")
        }
    }

    @Test func shutdownReturnsEvenWhenAHandlerWaitsOnSomethingElse() async throws {
        // The handler never reads `inbound`: only cancellation ends it.
        let started = NIOLockedValueBox(false)
        var router = HTTPRouter()
        router.webSocket("/stuck", handler: .async { _, _, _ in
            started.withLockedValue { $0 = true }
            try await Task.sleep(for: .seconds(3600))
        })
        var configuration = HTTPServerConfiguration()
        configuration.shutdownTimeout = .milliseconds(300)
        let server = try await HTTPServer.bind(
            host: "127.0.0.1", port: 0, router: router, configuration: configuration, eventLoopGroup: testServerGroup)
        let running = Task { try await server.run() }
        let connection = try await RawConnection.connect(port: server.port)
        defer { connection.close() }
        try await connection.send(
            "GET /stuck HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        try await withTimeout(.seconds(5), "handler start") {
            while !started.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        }
        server.shutdown()
        try await withTimeout(.seconds(10), "run() after shutdown") { try await running.value }
    }

    @Test func asyncRouteSeesTheRequestAndTheChosenSubprotocol() async throws {
        var router = HTTPRouter()
        router.webSocket(
            "/chat",
            shouldUpgrade: { request in
                request.requestedProtocols.contains("chat.v2") ? .accept(subprotocol: "chat.v2") : .accept
            },
            handler: .async { _, outbound, context in
                try await outbound.send(text: "\(context.request?.path ?? "-") \(context.subprotocol ?? "-")")
            }
        )
        try await withServer(router) { server in
            var configuration = WebSocketClientConfiguration()
            configuration.protocols = ["chat.v1", "chat.v2"]
            let greeting = try await WebSocketClient.connect(
                to: "ws://127.0.0.1:\(server.port)/chat?room=1", configuration: configuration
            ) { inbound, _, _ in
                for try await message in inbound.messages { return message.text }
                return nil
            }
            #expect(greeting == "/chat chat.v2")
        }
    }

    @Test func asyncRouteClosesWith1000WhenTheClosureReturnsAndLogsTheSession() async throws {
        let lines = NIOLockedValueBox<[String]>([])
        let accessLogger = Logger(label: "test.access") { _ in CapturingLogHandler(lines: lines) }
        var router = HTTPRouter()
        router.webSocket(
            "/once",
            handler: .async { inbound, outbound, _ in
                for try await message in inbound.messages {
                    try await outbound.send(text: "bye \(message.text ?? "")")
                    return
                }
            }
        )
        try await withServer(router, accessLogger: accessLogger) { server in
            let (reply, code) = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(server.port)/once") {
                inbound, outbound, _ in
                try await outbound.send(text: "ana")
                var reply: String?
                for try await event in inbound {
                    switch event {
                    case .message(let message): reply = message.text
                    case .closeReceived(let code, _): return (reply, code)
                    default: break
                    }
                }
                return (reply, nil)
            }
            #expect(reply == "bye ana")
            #expect(code == .normalClosure)
            try await waitUntil { lines.withLockedValue { $0.contains { $0.contains("101 websocket") } } }
            let line = lines.withLockedValue { $0.first { $0.contains("101 websocket") } } ?? ""
            #expect(line.contains("\"GET /once HTTP/1.1\""), "\(line)")
            #expect(line.contains("close=1000"), "\(line)")
        }
    }

    @Test func asyncRouteThatThrowsClosesWith1011() async throws {
        var router = HTTPRouter()
        router.webSocket("/fails", handler: .async { _, _, _ in throw TimedOut(what: "internal detail") })
        try await withServer(router) { server in
            let close: (WebSocketCloseCode?, String)? = try await WebSocketClient.connect(
                to: "ws://127.0.0.1:\(server.port)/fails"
            ) { inbound, _, _ in
                for try await event in inbound {
                    if case .closeReceived(let code, let reason) = event { return (code, reason) }
                }
                return nil
            }
            #expect(close?.0 == .internalError)
            #expect(close?.1 == "", "reasons sent to peers carry no internal detail")
        }
    }

    @Test func asyncRouteFromAnotherOriginGets403() async throws {
        var router = HTTPRouter()
        router.webSocket("/echo", origins: .sameHost(), handler: Self.echo)
        try await withServer(router) { server in
            let connection = try await RawConnection.connect(port: server.port)
            defer { connection.close() }
            try await connection.send(rawUpgradeRequest(path: "/echo", extraHeaders: ["Origin: http://evil.example"]))
            let response = try await connection.responses(1)[0]
            #expect(response.status == 403)
            #expect(response.text == "Origin not allowed\n")
            try await connection.waitForClose()
        }
    }

    @Test func firstFrameInTheSamePacketAsTheUpgradeRequestReachesTheAsyncHandlerAfterItsGreeting() async throws {
        var router = HTTPRouter()
        router.webSocket(
            "/echo",
            handler: .async { inbound, outbound, _ in
                // Written at once: it must still follow the 101, as a WebSocket frame.
                try await outbound.send(text: "welcome")
                for try await message in inbound.messages { try await outbound.send(message) }
            }
        )
        try await withServer(router) { server in
            let connection = try await RawConnection.connect(port: server.port)
            defer { connection.close() }
            var bytes = Array(rawUpgradeRequest(path: "/echo").utf8)
            bytes += maskedTextFrame("same packet")
            try await connection.channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
            let (head, frames) = try await waitForFrames(2, on: connection)
            #expect(head.status == 101)
            #expect(head.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            #expect(frames.map(\.opcode) == [0x1, 0x1])
            #expect(frames.map(\.text) == ["welcome", "same packet"])
        }
    }

    @Test func firstFrameInTheSamePacketAsTheUpgradeRequestIsEchoedByAnEventLoopHandler() async throws {
        var router = HTTPRouter()
        router.webSocket(
            "/echo",
            handler: .eventLoop { _ in
                { event, socket in
                    if case .message(let message) = event { socket.send(message) }
                }
            }
        )
        try await withServer(router) { server in
            let connection = try await RawConnection.connect(port: server.port)
            defer { connection.close() }
            var bytes = Array(rawUpgradeRequest(path: "/echo").utf8)
            bytes += maskedTextFrame("one") + maskedTextFrame("two")
            try await connection.channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
            // No further input arrives: the echo must be flushed without another read.
            let (head, frames) = try await waitForFrames(2, on: connection)
            #expect(head.status == 101)
            #expect(frames.map(\.text) == ["one", "two"])
        }
    }

    @Test func asyncRouteWriterSuspendsWhileThePeerDoesNotRead() async throws {
        let chunk = ByteBuffer(repeating: 0x2A, count: 64 * 1024)
        // About 20 MB: several times what the loopback socket buffers hold (4-5 MB here).
        let total = 300
        let sent = NIOLockedValueBox(0)
        let finished = NIOLockedValueBox(false)
        let mostPending = NIOLockedValueBox(0)
        var router = HTTPRouter()
        router.webSocket(
            "/firehose",
            handler: .async { _, outbound, _ in
                for _ in 0..<total {
                    try await outbound.send(binary: chunk)
                    sent.withLockedValue { $0 += 1 }
                    let pending = outbound.pendingBytes
                    mostPending.withLockedValue { $0 = max($0, pending) }
                }
                finished.withLockedValue { $0 = true }
            }
        )
        try await withServer(router) { server in
            let reader = try await StallingReader.connect(port: server.port)
            defer { reader.close() }
            try await reader.send(rawUpgradeRequest(path: "/firehose"))
            try await reader.readUntilResponseHead()

            // The client reads nothing more: the handler's sends must stall.
            var last = -1
            var stableSince = ContinuousClock.now
            while ContinuousClock.now - stableSince < .milliseconds(500) {
                let now = sent.withLockedValue { $0 }
                if now != last {
                    last = now
                    stableSince = .now
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            // Sends stop once the outbound buffer (1 MiB by default) is full, after what the
            // loopback socket buffers take (4-5 MB here: 73-78 sends of 64 KiB; without the
            // bound, NIO's writer got through 172-300).
            #expect(last < total / 2, "\(last) of \(total) sends completed without a reader")
            let most = mostPending.withLockedValue { $0 }
            #expect(most <= (1 << 20) + chunk.readableBytes, "\(most) bytes waited to be written")
            #expect(!finished.withLockedValue { $0 })

            // Reading again lets every send complete.
            reader.resume()
            try await waitUntil(.seconds(20)) { finished.withLockedValue { $0 } }
            try await waitUntil(.seconds(20)) { reader.received >= total * chunk.readableBytes }
        }
    }
}

// MARK: - Helpers

/// Polls `condition` until it holds.
func waitUntil(_ limit: Duration = .seconds(20), _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: "condition") }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// A valid upgrade request with RFC 6455 §1.3's sample key.
func rawUpgradeRequest(path: String, extraHeaders: [String] = []) -> String {
    let lines =
        [
            "GET \(path) HTTP/1.1",
            "Host: 127.0.0.1",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
        ] + extraHeaders
    return lines.joined(separator: "\r\n") + "\r\n\r\n"
}

/// A short text frame as a client sends it (RFC 6455 §5.3: masked).
func maskedTextFrame(_ text: String) -> [UInt8] {
    let payload = Array(text.utf8)
    precondition(payload.count < 126)
    let key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
    return [0x81, 0x80 | UInt8(payload.count)] + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
}

/// An unmasked frame from a server.
struct ServerFrame {
    var opcode: UInt8
    var payload: [UInt8]
    var text: String { String(decoding: payload, as: UTF8.self) }

    /// The frames at the start of `bytes` (short and 16-bit lengths only), stopping at an incomplete one.
    static func parse(_ bytes: ArraySlice<UInt8>) -> [ServerFrame] {
        var frames: [ServerFrame] = []
        var index = bytes.startIndex
        while bytes.endIndex - index >= 2 {
            var length = Int(bytes[index + 1] & 0x7F)
            var start = index + 2
            if length == 126 {
                guard bytes.endIndex - index >= 4 else { break }
                length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
                start = index + 4
            }
            guard bytes.endIndex - start >= length else { break }
            frames.append(ServerFrame(opcode: bytes[index] & 0x0F, payload: Array(bytes[start..<(start + length)])))
            index = start + length
        }
        return frames
    }
}

/// Waits for the 101 and `count` frames after it.
func waitForFrames(_ count: Int, on connection: RawConnection) async throws -> (WireResponse, [ServerFrame]) {
    let deadline = ContinuousClock.now + .seconds(20)
    while true {
        let bytes = connection.bytes
        if let (head, consumed) = WireResponse.parse(bytes, bodyless: true) {
            let frames = ServerFrame.parse(bytes[consumed...])
            if frames.count >= count { return (head, frames) }
        }
        guard ContinuousClock.now < deadline, !connection.isClosed else {
            throw TimedOut(what: "\(count) frames (\(bytes.count) bytes)")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// A TCP client that reads only when told to, and counts what follows the response head.
final class StallingReader: Sendable {
    private final class Counter: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let state: NIOLockedValueBox<(head: [UInt8], headDone: Bool, body: Int)>
        init(_ state: NIOLockedValueBox<(head: [UInt8], headDone: Bool, body: Int)>) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            state.withLockedValue { state in
                guard !state.headDone else {
                    state.body += buffer.readableBytes
                    return
                }
                state.head += buffer.readableBytesView
                let separator: [UInt8] = [13, 10, 13, 10]
                if let end = state.head.indices.first(where: { state.head[$0...].starts(with: separator) }) {
                    state.body += state.head.count - (end + 4)
                    state.head.removeSubrange((end + 4)...)
                    state.headDone = true
                }
            }
        }
    }

    let channel: any Channel
    private let state: NIOLockedValueBox<(head: [UInt8], headDone: Bool, body: Int)>

    private init(channel: any Channel, state: NIOLockedValueBox<(head: [UInt8], headDone: Bool, body: Int)>) {
        self.channel = channel
        self.state = state
    }

    static func connect(port: Int) async throws -> StallingReader {
        let state = NIOLockedValueBox<(head: [UInt8], headDone: Bool, body: Int)>(([], false, 0))
        let channel = try await ClientBootstrap(group: rawPeerGroup)
            .channelOption(.autoRead, value: false)
            // A small receive buffer, so that the stall comes soon.
            .channelOption(.socketOption(.so_rcvbuf), value: 64 * 1024)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Counter(state))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return StallingReader(channel: channel, state: state)
    }

    var received: Int { state.withLockedValue { $0.body } }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// Reads, one socket read at a time, until the response head is complete.
    func readUntilResponseHead() async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !state.withLockedValue({ $0.headDone }) {
            guard ContinuousClock.now < deadline else { throw TimedOut(what: "response head") }
            channel.read()
            try await Task.sleep(for: .milliseconds(10))
        }
        let head = String(decoding: state.withLockedValue { $0.head }, as: UTF8.self)
        guard head.hasPrefix("HTTP/1.1 101") else { throw TimedOut(what: "a 101, got \(head)") }
    }

    /// Reads everything from now on.
    func resume() {
        channel.setOption(.autoRead, value: true).whenSuccess { [channel] in channel.read() }
    }

    func close() {
        channel.close(promise: nil)
    }
}

/// Keeps every message logged, for assertions on the access log.
struct CapturingLogHandler: LogHandler {
    let lines: NIOLockedValueBox<[String]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.withLockedValue { $0.append(event.message.description) }
    }
}
