import CanalHTTP
import CanalWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Testing

/// The server on 127.0.0.1:0, driven by raw sockets and by our WebSocket client.
@Suite struct HTTPServerLoopbackTests {
    static func echo() -> WebSocketServerHandler {
        .eventLoop { _ in
            { event, socket in
                if case .message(let message) = event { socket.send(message) }
            }
        }
    }

    func makeRouter(site: TemporarySite) throws -> HTTPRouter {
        var router = HTTPRouter()
        router.get("/hello") { request in .text("hello \(request.queryParameter("name") ?? "you")\n") }
        router.post("/echo-body") { request in .text(request.bodyText) }
        router.get("/fails") { _ in throw TimedOut(what: "internal detail") }
        router.webSocket("/ws", origins: .sameHost(), handler: Self.echo())
        try router.serveFiles(from: site.publicPath)
        return router
    }

    func withServer(
        configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
        tls: WebSocketServerTLS? = nil,
        _ body: @escaping @Sendable (HTTPServer, TemporarySite) async throws -> Void
    ) async throws {
        let site = try TemporarySite()
        defer { site.remove() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        let server = try await HTTPServer.bind(
            host: "127.0.0.1",
            port: 0,
            router: try makeRouter(site: site),
            configuration: configuration,
            tls: tls,
            eventLoopGroup: group,
            accessLogger: nil
        )
        let running = Task { try await server.run() }
        do {
            try await withTimeout(.seconds(60), "test body") { try await body(server, site) }
        } catch {
            server.shutdown()
            throw error
        }
        server.shutdown()
        try await withTimeout(.seconds(15), "shutdown") { try await running.value }
    }

    @Test func routeStaticFileAnd404OnOneKeepAliveConnection() async throws {
        try await withServer { server, site in
            let connection = try await RawConnection.connect(port: server.port)
            defer { connection.close() }
            try await connection.send(
                "GET /hello?name=Ana HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /css/site.css HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "HEAD /css/site.css HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            let responses = try await connection.responses(5, bodyless: [4])
            #expect(responses.map(\.status) == [200, 200, 200, 404, 200])
            #expect(responses[0].text == "hello Ana\n")
            #expect(responses[1].body == (try site.file("css/site.css")))
            #expect(responses[1].header("Content-Type") == "text/css; charset=utf-8")
            #expect(responses[2].body == (try site.file("index.html")))
            #expect(responses[4].header("Content-Length") == String(try site.file("css/site.css").count))
            #expect(responses[4].body.isEmpty)
            #expect(!connection.isClosed)
        }
    }

    @Test func symlinkOutOfTheFolderIsNotFollowed() async throws {
        try await withServer { server, _ in
            let connection = try await RawConnection.connect(port: server.port)
            defer { connection.close() }
            try await connection.send(
                "GET /link.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            let responses = try await connection.responses(2)
            #expect(responses.map(\.status) == [404, 400])
            #expect(!responses.contains { $0.text.contains("outside") })
        }
    }

    @Test func largeFileArrivesWholeAndInRanges() async throws {
        try await withServer { server, site in
            let expected = try site.file("large.bin")
            let connection = try await RawConnection.connect(port: server.port)
            defer { connection.close() }
            try await connection.send(
                "GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /large.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-1999\r\n\r\n"
            )
            let responses = try await connection.responses(2)
            #expect(responses[0].body == expected)
            #expect(responses[1].status == 206)
            #expect(responses[1].body == Array(expected[1000..<2000]))
            #expect(responses[1].header("Content-Range") == "bytes 1000-1999/\(expected.count)")
        }
    }

    @Test func routeThatThrowsAnswers500WithoutDetail() async throws {
        try await withServer { server, _ in
            let connection = try await RawConnection.connect(port: server.port)
            defer { connection.close() }
            try await connection.send("GET /fails HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await connection.responses(1)[0]
            #expect(response.status == 500)
            #expect(!response.text.contains("internal detail"))
        }
    }

    @Test func postBodyReachesTheRouteAndOversizedBodyIs413() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.maxBodySize = 16
        try await withServer(configuration: configuration) { server, _ in
            let connection = try await RawConnection.connect(port: server.port)
            defer { connection.close() }
            try await connection.send(
                "POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                    + "POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n"
            )
            let responses = try await connection.responses(2)
            #expect(responses[0].text == "hello")
            #expect(responses[1].status == 413)
            try await connection.waitForClose()
        }
    }

    @Test func limitsAnswer414And431() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.maxRequestLineLength = 100
        configuration.maxHeaderCount = 5
        configuration.maxHeaderSize = 200
        try await withServer(configuration: configuration) { server, _ in
            for (request, status) in [
                ("GET /\(String(repeating: "a", count: 200)) HTTP/1.1\r\nHost: x\r\n\r\n", 414),
                ("GET /\(String(repeating: "a", count: 5000))", 414),
                ("GET / HTTP/1.1\r\nHost: x\r\n" + (1...6).map { "X-\($0): v\r\n" }.joined() + "\r\n", 431),
                ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 300))\r\n\r\n", 431),
            ] {
                let connection = try await RawConnection.connect(port: server.port)
                defer { connection.close() }
                try await connection.send(request)
                #expect(try await connection.responses(1)[0].status == status)
            }
        }
    }

    @Test func silentClientIsCutByTheHeadTimeout() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.requestHeadTimeout = .milliseconds(300)
        try await withServer(configuration: configuration) { server, _ in
            let connection = try await RawConnection.connect(port: server.port)
            let start = ContinuousClock.now
            // On a loaded machine the 300 ms may pass before this send: then it finds the
            // connection already cut, which is what the test waits for anyway.
            try? await connection.send("GET / HT")
            try await connection.waitForClose()
            // Well under the 10 s default, so it was this configuration's timeout that fired;
            // the slack is for a loaded machine, not for the server.
            #expect(ContinuousClock.now - start < .seconds(6))
        }
    }

    @Test func bodyTricklingInWithoutPausingIsCutByTheBodyTimeout() async throws {
        // A slow POST: a byte every 50 ms never pauses for the 1 s head timeout, but the
        // whole body must arrive within the 2 s body timeout.
        var configuration = HTTPServerConfiguration()
        configuration.requestHeadTimeout = .seconds(1)
        configuration.requestBodyTimeout = .seconds(2)
        try await withServer(configuration: configuration) { server, _ in
            let connection = try await RawConnection.connect(port: server.port)
            defer { connection.close() }
            let start = ContinuousClock.now
            try await connection.send("POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
            // The 1,000 bytes need at least 50 s at this pace: only the body timeout ends it.
            while !connection.isClosed, ContinuousClock.now - start < .seconds(20) {
                try? await connection.send("a")
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(connection.isClosed)
            #expect(ContinuousClock.now - start < .seconds(12))
        }
    }

    @Test func webSocketEchoOnTheSamePortAsFiles() async throws {
        try await withServer { server, _ in
            let reply = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(server.port)/ws") {
                inbound, outbound, _ in
                try await outbound.send(text: "same port")
                for try await message in inbound.messages { return message.text }
                return nil
            }
            #expect(reply == "same port")
        }
    }

    @Test func webSocketSettingsOfferedUnderHTTPServerAreOnlyThoseThatApplyToEachConnection() {
        // The server-wide settings (head timeout, shutdown timeout, backlog) are the
        // HTTPServer's own; a second copy under `webSocket` would be silently ignored.
        let offered = Mirror(reflecting: HTTPServerConfiguration().webSocket).children.compactMap(\.label)
        #expect(
            Set(offered) == [
                "webSocket", "timeouts", "outboundBuffer", "compression", "runsAsyncHandlersOnEventLoop",
                "inboundEventBuffer",
            ]
        )
    }

    @Test func webSocketLimitsAndCompressionSetUnderHTTPServerApply() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.webSocket.webSocket.maxMessageSize = 1000
        configuration.webSocket.compression = .balanced
        try await withServer(configuration: configuration) { server, _ in
            let raw = try await RawConnection.connect(port: server.port)
            defer { raw.close() }
            try await raw.send(
                rawUpgradeRequest(path: "/ws", extraHeaders: ["Sec-WebSocket-Extensions: permessage-deflate"]))
            let (response, _) = try await waitForFrames(0, on: raw)
            #expect(response.status == 101)
            #expect(response.header("Sec-WebSocket-Extensions")?.hasPrefix("permessage-deflate") == true)

            let events = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(server.port)/ws") {
                inbound, outbound, _ in
                try await outbound.send(text: String(repeating: "x", count: 900))
                try await outbound.send(text: String(repeating: "y", count: 1001))
                var events: [String] = []
                for try await event in inbound {
                    switch event {
                    case .message(let message): events.append("message \(message.data.readableBytes)")
                    case .closeReceived(let code, _): events.append("close \(code?.rawValue ?? 0)")
                    default: break
                    }
                }
                return events
            }
            #expect(events == ["message 900", "close 1009"])
        }
    }

    @Test func webSocketFromAnotherOriginIsRefused() async throws {
        try await withServer { server, _ in
            var configuration = WebSocketClientConfiguration()
            configuration.origin = "http://evil.example"
            await #expect(throws: WebSocketClientError.self) {
                try await WebSocketClient.connect(to: "ws://127.0.0.1:\(server.port)/ws", configuration: configuration)
                { _, _, _ in }
            }
        }
    }

    @Test func shutdownClosesWebSocketsWith1001() async throws {
        let site = try TemporarySite()
        defer { site.remove() }
        let server = try await HTTPServer.bind(
            host: "127.0.0.1", port: 0, router: try makeRouter(site: site), eventLoopGroup: testServerGroup,
            accessLogger: nil)
        let running = Task { try await server.run() }
        let code: WebSocketCloseCode? = try await withTimeout(.seconds(10)) {
            try await WebSocketClient.connect(to: "ws://127.0.0.1:\(server.port)/ws") { inbound, outbound, context in
                try await outbound.send(text: "ping")
                var events = inbound.makeAsyncIterator()
                guard case .message = try await events.next() else { return nil }
                server.shutdown()
                while let event = try await events.next() {
                    if case .closeReceived(let code, _) = event { return code }
                }
                return nil
            }
        }
        #expect(code == .goingAway)
        try await withTimeout(.seconds(10)) { try await running.value }
    }

    @Test func serviceGroupGracefulShutdownStopsTheServer() async throws {
        let site = try TemporarySite()
        defer { site.remove() }
        let server = try await HTTPServer.bind(
            host: "127.0.0.1", port: 0, router: try makeRouter(site: site), eventLoopGroup: testServerGroup,
            accessLogger: nil)
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await connection.responses(1)[0].status == 200)
        await group.triggerGracefulShutdown()
        try await withTimeout(.seconds(10)) { try await running.value }
        try await connection.waitForClose()
    }

    @Test func wssEchoWithOurClientAndAThrowawayCertificate() async throws {
        let certificate = try TemporaryCertificate()
        defer { certificate.remove() }
        let tls = WebSocketServerTLS(certificateChainFile: certificate.certificate, privateKeyFile: certificate.key)
        try await withServer(tls: tls) { server, _ in
            #expect(server.isSecure)
            var configuration = WebSocketClientConfiguration()
            configuration.tls = WebSocketClientTLS(trustRoots: .file(certificate.certificate))
            let replies = try await WebSocketClient.connect(
                to: "wss://127.0.0.1:\(server.port)/ws",
                configuration: configuration
            ) { inbound, outbound, _ in
                var replies: [String] = []
                var messages = inbound.messages.makeAsyncIterator()
                for text in ["over TLS", String(repeating: "z", count: 100_000)] {
                    try await outbound.send(text: text)
                    replies.append(try await messages.next()?.text ?? "")
                }
                return replies
            }
            #expect(replies == ["over TLS", String(repeating: "z", count: 100_000)])
        }
    }

    @Test func wssClientThatDoesNotTrustTheCertificateFails() async throws {
        let certificate = try TemporaryCertificate()
        defer { certificate.remove() }
        let tls = WebSocketServerTLS(certificateChainFile: certificate.certificate, privateKeyFile: certificate.key)
        try await withServer(tls: tls) { server, _ in
            await #expect(throws: (any Error).self) {
                try await WebSocketClient.connect(to: "wss://127.0.0.1:\(server.port)/ws") { _, _, _ in }
            }
        }
    }
}
