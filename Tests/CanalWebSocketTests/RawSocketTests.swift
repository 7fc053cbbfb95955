import CanalWebSocket
import NIOCore
import Testing

/// Our server against a peer that writes bytes by hand: HTTP edge cases, slow and silent
/// clients, protocol violations right after the handshake.
@Suite(.timeLimit(.minutes(1)))
struct RawSocketTests {
    // MARK: Plain HTTP

    @Test
    func plainGetGets404AndKeepAliveServesSecondRequest() async throws {
        try await withServer(handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            try await client.write("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let first = try await client.readResponse()
            #expect(first.status == 404)
            #expect(first.header("Connection")?.lowercased() == "keep-alive")
            #expect(first.bodyText == "Not Found\n")
            #expect(!client.isClosed)

            try await client.write("GET /other HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let second = try await client.readResponse(from: first.length)
            #expect(second.status == 404)
            #expect(!client.isClosed)
        }
    }

    @Test
    func plainGetWithConnectionCloseGets404ThenClose() async throws {
        try await withServer(handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            try await client.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 404)
            #expect(response.header("Connection")?.lowercased() == "close")
            try await client.waitForClose()
        }
    }

    @Test
    func pipelinedPlainGetsInOneWriteGetTwo404s() async throws {
        try await withServer(handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            try await client.write(
                "GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            )
            let first = try await client.readResponse()
            let second = try await client.readResponse(from: first.length)
            #expect(first.status == 404)
            #expect(second.status == 404)
        }
    }

    // MARK: Handshake rejections

    @Test
    func upgradeWithVersion8Gets426Naming13() async throws {
        try await withServer(handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            try await client.write(upgradeRequest(version: "8"))
            let response = try await client.readResponse()
            #expect(response.status == 426)
            #expect(response.header("Sec-WebSocket-Version") == "13")
            try await client.waitForClose()
        }
    }

    @Test
    func upgradeWithBadKeyGets400() async throws {
        try await withServer(handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            let request = upgradeRequest().replacing(sampleKey, with: "short")
            try await client.write(request)
            let response = try await client.readResponse()
            #expect(response.status == 400)
            try await client.waitForClose()
        }
    }

    @Test
    func upgradeWithPostGets405() async throws {
        try await withServer(handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            let request = "POST" + upgradeRequest().dropFirst(3)
            try await client.write(request)
            let response = try await client.readResponse()
            #expect(response.status == 405)
            #expect(response.header("Allow") == "GET")
        }
    }

    @Test
    func rejectionHeadersReachTheWire() async throws {
        let shouldUpgrade: @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision = { _ in
            var rejection = WebSocketHandshakeRejection(status: .forbidden, body: "nope")
            rejection.headers.add(name: "X-Canal-Reason", value: "origin-denied")
            return .reject(rejection)
        }
        try await withServer(shouldUpgrade: shouldUpgrade, handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            try await client.write(upgradeRequest())
            let response = try await client.readResponse()
            #expect(response.status == 403)
            #expect(response.header("X-Canal-Reason") == "origin-denied")
            #expect(response.bodyText == "nope\n")
            try await client.waitForClose()
        }
    }

    @Test
    func serverWhoseShouldUpgradePicksAnUnofferedSubprotocolAnswers500AndKeepsServing() async throws {
        // Caller misuse: the hook names a subprotocol the client never offered. The upgrade
        // is refused with 500; the server process and its other connections carry on.
        let shouldUpgrade: @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision = { request in
            request.path == "/wrong" ? .accept(subprotocol: "not-offered") : .accept
        }
        try await withServer(shouldUpgrade: shouldUpgrade, handler: asyncEcho) { server in
            let wrong = try await RawClient.connect(port: server.port)
            defer { wrong.close() }
            try await wrong.write(upgradeRequest(path: "/wrong", extraHeaders: ["Sec-WebSocket-Protocol: chat"]))
            let refused = try await wrong.readResponse()
            #expect(refused.status == 500)
            #expect(refused.header("Sec-WebSocket-Protocol") == nil)
            #expect(!refused.bodyText.contains("not-offered"))
            try await wrong.waitForClose()

            let good = try await RawClient.connect(port: server.port)
            defer { good.close() }
            let accepted = try await good.handshake(path: "/")
            #expect(accepted.status == 101)
        }
    }

    @Test
    func garbageInsteadOfRequestGets400OrCloseWithoutWaitingForTimeout() async throws {
        // The head timeout is long here: the connection must end because of the bad
        // request, not because the timer fired.
        var configuration = WebSocketServerConfiguration.testing
        configuration.requestHeadTimeout = .seconds(30)
        try await withServer(configuration: configuration, handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            // The start of a TLS ClientHello, then line ends: not HTTP.
            try await client.write([0x16, 0x03, 0x01, 0x00, 0xFF, 0x00, 0x0D, 0x0A, 0x0D, 0x0A, 0x0D, 0x0A, 0x0D, 0x0A])
            try await client.waitForClose()
            if let response = HTTPResponse.parse(client.bytes) {
                #expect(response.status == 400)
            } else {
                #expect(client.bytes.isEmpty || String(decoding: client.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 400"))
            }
        }
    }

    // MARK: Request-head timeout

    @Test
    func silentClientIsClosedAfterRequestHeadTimeout() async throws {
        var configuration = WebSocketServerConfiguration.testing
        configuration.requestHeadTimeout = .milliseconds(300)
        try await withServer(configuration: configuration, handler: asyncEcho) { server in
            let clock = ContinuousClock()
            let start = clock.now
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            try await client.waitForClose()
            let elapsed = client.closedAt! - start
            #expect(elapsed >= .milliseconds(250))
            #expect(elapsed < .seconds(6), "the 10 s default would be later")
            #expect(client.bytes.isEmpty)
        }
    }

    @Test
    func clientSendingHeadOneByteAtATimeSlowerThanTimeoutIsCut() async throws {
        var configuration = WebSocketServerConfiguration.testing
        configuration.requestHeadTimeout = .milliseconds(300)
        try await withServer(configuration: configuration, handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            let clock = ContinuousClock()
            let start = clock.now
            // 60 bytes at one per 50 ms would take 3 s; the server must not wait for them.
            var sent = 0
            for byte in Array(upgradeRequest().utf8).prefix(60) {
                if client.isClosed { break }
                try? await client.write([byte])
                sent += 1
                try await Task.sleep(for: .milliseconds(50))
            }
            try await client.waitForClose()
            let elapsed = client.closedAt! - start
            #expect(elapsed < .seconds(6), "closed after \(elapsed), \(sent) bytes sent")
            #expect(sent < 60)
        }
    }

    @Test
    func keepAliveConnectionIdleAfterResponseIsClosedAfterRequestHeadTimeout() async throws {
        var configuration = WebSocketServerConfiguration.testing
        configuration.requestHeadTimeout = .seconds(3)
        try await withServer(configuration: configuration, handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            try await client.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(try await client.readResponse().status == 404)
            try await client.waitForClose()
        }
    }

    @Test
    func upgradedConnectionIsNotCutByRequestHeadTimeout() async throws {
        var configuration = WebSocketServerConfiguration.testing
        // Long enough for a loaded machine to send the request in time; the sleep outlasts it.
        configuration.requestHeadTimeout = .seconds(3)
        try await withServer(configuration: configuration, handler: eventLoopEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            let response = try await client.handshake()
            try await Task.sleep(for: .seconds(4))
            #expect(!client.isClosed)
            try await client.write(RawFrame.text("still here"))
            try await client.wait("echo") { bytes, _ in
                RawFrame.parseAll(Array(bytes.dropFirst(response.length))).frames.count == 1
            }
            #expect(client.frames(after: response.length).frames.first?.text == "still here")
        }
    }

    // MARK: After the handshake

    @Test(arguments: ["async", "eventLoop"])
    func clientSendsUnmaskedFrameServerSends1002ThenCloses(handlerKind: String) async throws {
        let handler = handlerKind == "async" ? asyncEcho : eventLoopEcho
        try await withServer(handler: handler) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            let response = try await client.handshake()
            try await client.write(RawFrame.text("not masked", mask: nil))
            try await client.waitForClose()
            let (frames, rest) = client.frames(after: response.length)
            #expect(frames.count == 1)
            #expect(frames.first?.opcode == 0x8)
            #expect(frames.first?.closeCode == 1002)
            #expect(rest == 0)
        }
    }

    @Test(arguments: ["async", "eventLoop"])
    func handshakeAndFirstFrameInOneWriteAreBothProcessed(handlerKind: String) async throws {
        let handler = handlerKind == "async" ? asyncEcho : eventLoopEcho
        try await withServer(handler: handler) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            try await client.write(Array(upgradeRequest().utf8) + RawFrame.text("early") + RawFrame.text("bird"))
            try await client.wait("101 and two echoes") { bytes, _ in
                guard let response = HTTPResponse.parse(bytes) else { return false }
                return RawFrame.parseAll(Array(bytes.dropFirst(response.length))).frames.count >= 2
            }
            let response = HTTPResponse.parse(client.bytes)!
            #expect(response.status == 101)
            let frames = client.frames(after: response.length).frames
            #expect(frames.map(\.text) == ["early", "bird"])
            #expect(frames.allSatisfy { $0.opcode == 0x1 && $0.fin })
        }
    }

    @Test
    func handshakeAndCloseFrameInOneWriteGetCloseEcho() async throws {
        try await withServer(handler: eventLoopEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            try await client.write(Array(upgradeRequest().utf8) + RawFrame.close(code: 1000, reason: "early"))
            try await client.waitForClose()
            let response = HTTPResponse.parse(client.bytes)!
            #expect(response.status == 101)
            let frames = client.frames(after: response.length).frames
            #expect(frames.count == 1)
            #expect(frames.first?.closeCode == 1000)
        }
    }

    @Test
    func serverAnswersPingWithPongCarryingSamePayload() async throws {
        try await withServer(handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            let response = try await client.handshake()
            try await client.write(RawFrame.encode(opcode: 0x9, payload: [1, 2, 3, 4]))
            try await client.wait("pong") { bytes, _ in
                !RawFrame.parseAll(Array(bytes.dropFirst(response.length))).frames.isEmpty
            }
            let frame = client.frames(after: response.length).frames.first
            #expect(frame?.opcode == 0xA)
            #expect(frame?.payload == [1, 2, 3, 4])
        }
    }

    @Test
    func fragmentedMessageFromRawClientIsEchoedWhole() async throws {
        try await withServer(handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            let response = try await client.handshake()
            try await client.write(RawFrame.encode(opcode: 0x1, payload: Array("frag".utf8), fin: false))
            try await client.write(RawFrame.encode(opcode: 0x0, payload: Array("men".utf8), fin: false))
            try await client.write(RawFrame.encode(opcode: 0x0, payload: Array("ted".utf8), fin: true))
            try await client.wait("echo") { bytes, _ in
                !RawFrame.parseAll(Array(bytes.dropFirst(response.length))).frames.isEmpty
            }
            #expect(client.frames(after: response.length).frames.first?.text == "fragmented")
        }
    }

    @Test
    func invalidUTF8TextFromRawClientGets1007() async throws {
        try await withServer(handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            let response = try await client.handshake()
            try await client.write(RawFrame.encode(opcode: 0x1, payload: [0xCE, 0xBA, 0xFF]))
            try await client.waitForClose()
            #expect(client.frames(after: response.length).frames.first?.closeCode == 1007)
        }
    }

    @Test
    func rawClientClosesServerEchoesCloseAndClosesTCPFirst() async throws {
        let serverStatus = Recorder<WebSocketCloseStatus?>(nil)
        let handler = WebSocketServerHandler.async { inbound, _, context in
            _ = try await allEvents(inbound)
            let status = try await value(of: context.closed, within: .seconds(20))
            serverStatus.update { $0 = status }
        }
        try await withServer(handler: handler) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            let response = try await client.handshake()
            try await client.write(RawFrame.close(code: 4000, reason: "bye"))
            // RFC 6455 §7.1.1: the server closes the TCP connection first, so the raw
            // client (which never closes) sees the end.
            try await client.waitForClose()
            let frames = client.frames(after: response.length).frames
            #expect(frames.count == 1)
            #expect(frames.first?.closeCode == 4000)
            try await waitUntil("server handler finished") { serverStatus.value != nil }
            #expect(serverStatus.value?.code.rawValue == 4000)
            #expect(serverStatus.value?.reason == "bye")
            #expect(serverStatus.value?.wasClean == true)
        }
    }
}
