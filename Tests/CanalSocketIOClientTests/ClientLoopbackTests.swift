import CanalEngineIOCore
import CanalHTTP
import CanalSocketIO
import CanalSocketIOClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// The client against Canal's own server on 127.0.0.1:0, through the public API only: the
/// Swift-side shape of the API (Codable, async sequences, scoped connections). The same
/// client against python-socketio's server is in Tests/sioclient.
@Suite struct ClientLoopbackTests {
    struct Greeting: Codable, Sendable, Equatable { var name: String }
    struct Reply: Codable, Sendable, Equatable { var text: String; var count: Int }

    static let transportModes: [[EngineTransport]] = [[.websocket], [.polling], [.polling, .websocket]]

    func configuration(_ transports: [EngineTransport]) -> SocketIOClientConfiguration {
        var configuration = SocketIOClientConfiguration()
        configuration.transports = transports
        configuration.reconnection = .disabled
        return configuration
    }

    /// Runs `body` with a server on 127.0.0.1:0 set up by `configure`.
    func withServer(
        configure: @escaping @Sendable (SocketIOServer) -> Void,
        _ body: @Sendable (String, SocketIOServer) async throws -> Void
    ) async throws {
        let io = SocketIOServer()
        configure(io)
        var router = HTTPRouter()
        io.install(on: &router)
        let server = try await HTTPServer.bind(host: "127.0.0.1", port: 0, router: router, accessLogger: nil)
        let running = Task { try await server.run() }
        do {
            try await body("http://127.0.0.1:\(server.localAddress.port!)", io)
        } catch {
            io.close()
            server.shutdown()
            throw error
        }
        io.close()
        server.shutdown()
        try await running.value
    }

    @Test(arguments: transportModes)
    func clientEmitsWithTypedAckAndReadsTypedEvents(transports: [EngineTransport]) async throws {
        try await withServer(configure: { io in
            io.onConnection { socket in
                try? socket.emit("welcome", SocketIOEncoded(Greeting(name: socket.id)))
                socket.on("greet") { event in
                    let name = event[0]?["name"]?.stringValue ?? "?"
                    try? event.ack?(encoding: Reply(text: "hello \(name)", count: event.arguments.count))
                }
                socket.on("echo") { event in try? socket.emit("echo", arguments: event.arguments) }
            }
        }) { url, _ in
            try await SocketIOClient.connect(to: url, configuration: configuration(transports)) { socket, events in
                let reply = try await socket.emitWithAck("greet", Greeting(name: "ana"), 2, returning: Reply.self)
                #expect(reply == Reply(text: "hello ana", count: 2))
                let bytes = Data([0, 1, 0xFF])
                try socket.emit("echo", bytes, ["nested": SocketIOValue.binary(ByteBuffer(bytes: [7]))])
                var iterator = events.makeAsyncIterator()
                let welcome = try #require(try await iterator.next())
                #expect(welcome.name == "welcome")
                #expect(try welcome.decode(Greeting.self) == Greeting(name: socket.id ?? ""))
                let echo = try #require(try await iterator.next())
                #expect(echo.name == "echo")
                #expect(try echo.decode(Data.self) == bytes)
                #expect(echo[1]?["nested"]?.binaryValue == ByteBuffer(bytes: [7]))
            }
        }
    }

    @Test func scopedConnectionDisconnectsWhenBodyReturns() async throws {
        let reasons = NIOLockedValueBox<[String]>([])
        try await withServer(configure: { io in
            io.onConnection { socket in
                socket.onDisconnect { reason in reasons.withLockedValue { $0.append(reason.rawValue) } }
            }
        }) { url, io in
            let id = try await SocketIOClient.connect(to: url, configuration: configuration([.websocket])) { socket, _ in
                socket.id
            }
            #expect(id != nil)
            for _ in 0..<100 where reasons.withLockedValue({ $0.isEmpty }) {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(reasons.withLockedValue { $0 } == ["client namespace disconnect"])
        }
    }

    @Test func refusalThrowsWithServersData() async throws {
        try await withServer(configure: { io in
            io.use { socket in
                throw SocketIOConnectError("not authorized", data: ["code": 4001])
            }
        }) { url, _ in
            await #expect {
                try await SocketIOClient.connect(to: url, auth: ["token": "x"], configuration: configuration([.polling])) {
                    _, _ in
                }
            } throws: { error in
                let refusal = error as? SocketIOClientError
                return refusal?.kind == .refused && refusal?.message == "not authorized"
                    && refusal?.data == ["code": 4001]
            }
        }
    }

    @Test func serverAsksAndClosureListenerAnswers() async throws {
        let answers = NIOLockedValueBox<[[SocketIOValue]]>([])
        try await withServer(configure: { io in
            io.onConnection { socket in
                socket.on("ready") { _ in
                    Task {
                        let answer = try await socket.emitWithAck("question", 41, timeout: .seconds(5))
                        answers.withLockedValue { $0.append(answer) }
                        try socket.emit("done")
                    }
                }
            }
        }) { url, _ in
            try await SocketIOClient.connect(to: url, configuration: configuration([.websocket])) { socket, events in
                socket.on("question") { event in try? event.ack?((event[0]?.intValue ?? 0) + 1, "ok") }
                try socket.emit("ready")
                for try await event in events where event.name == "done" { break }
            }
        }
        #expect(answers.withLockedValue { $0 } == [[42, "ok"]])
    }

    @Test func catchAllListenersSeeEveryEventBothWays() async throws {
        try await withServer(configure: { io in
            io.onConnection { socket in
                socket.on("go") { _ in
                    try? socket.emit("one", 1)
                    try? socket.emit("two", "x", 2)
                }
            }
        }) { url, _ in
            let seen = NIOLockedValueBox<[String]>([])
            try await SocketIOClient.connect(to: url, configuration: configuration([.websocket])) { socket, events in
                socket.onAny { event in seen.withLockedValue { $0.append("in \(event.name) \(event.arguments.count)") } }
                socket.onAnyOutgoing { name, arguments in
                    seen.withLockedValue { $0.append("out \(name) \(arguments.count)") }
                }
                try socket.emit("go", true)
                var count = 0
                for try await _ in events {
                    count += 1
                    if count == 2 { break }
                }
            }
            #expect(seen.withLockedValue { $0 } == ["out go 1", "in one 1", "in two 2"])
        }
    }

    @Test func cancellingTheTaskDisconnectsAndFailsThePendingAck() async throws {
        let reasons = NIOLockedValueBox<[String]>([])
        try await withServer(configure: { io in
            io.onConnection { socket in
                socket.onDisconnect { reason in reasons.withLockedValue { $0.append(reason.rawValue) } }
            }
        }) { url, _ in
            let started = AsyncStream.makeStream(of: Void.self)
            let task = Task {
                try await SocketIOClient.connect(to: url, configuration: configuration([.polling])) { socket, _ in
                    started.continuation.yield()
                    // Never answered: only the cancellation ends it.
                    _ = try await socket.emitWithAck("nobody-answers", timeout: .seconds(60))
                }
            }
            for await _ in started.stream { break }
            try await Task.sleep(for: .milliseconds(100))
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            for _ in 0..<100 where reasons.withLockedValue({ $0.isEmpty }) {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(reasons.withLockedValue { $0 } == ["client namespace disconnect"])
        }
    }

    @Test func reservedNamesAreRefusedBeforeSending() async throws {
        let manager = try SocketIOManager(url: "http://127.0.0.1:9")
        let socket = manager.socket()
        #expect(throws: SocketIOClientError.self) { try socket.emit("connect") }
        await #expect(throws: SocketIOClientError.self) { try await socket.emitWithAck("disconnect") }
        await manager.close()
    }
}
