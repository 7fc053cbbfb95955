import CanalWebSocket
import NIOCore
import Testing

/// Keepalive pings and the closing-handshake timer, with short intervals.
@Suite(.timeLimit(.minutes(1)))
struct KeepaliveTests {
    /// Pings every 100 ms, a pong due within 200 ms.
    static var keepaliveServer: WebSocketServerConfiguration {
        var configuration = WebSocketServerConfiguration.testing
        configuration.timeouts.keepaliveInterval = .milliseconds(100)
        configuration.timeouts.keepaliveTimeout = .milliseconds(200)
        configuration.timeouts.closeTimeout = .milliseconds(500)
        return configuration
    }

    /// Pings every 100 ms, but a pong may take up to 1 s: healthy peers must not be cut
    /// because a loaded two-core test machine answered one ping late.
    static var patientKeepaliveServer: WebSocketServerConfiguration {
        var configuration = keepaliveServer
        // Long enough for a test's answering loop to be late on a busy machine.
        configuration.timeouts.keepaliveTimeout = .seconds(3)
        return configuration
    }

    /// Reads `inbound` in the background for `duration` (so that reading never stalls the
    /// connection), then checks the connection still echoes. Returns the events seen and
    /// whether the echo came back.
    static func stayConnected(
        for duration: Duration,
        inbound: WebSocketInbound,
        outbound: WebSocketOutbound
    ) async throws -> (events: [WebSocketEvent], echoed: Bool) {
        let events = Recorder<[WebSocketEvent]>([])
        let reader = Task {
            for try await event in inbound { events.update { $0.append(event) } }
        }
        defer { reader.cancel() }
        try await Task.sleep(for: duration)
        guard events.value.closedStatus == nil, events.value.closeReceived == nil else { return (events.value, false) }
        try await outbound.send(text: "alive")
        try await waitUntil("echo after \(duration)", within: .seconds(20)) {
            events.value.messages.contains(.text("alive")) || events.value.closedStatus != nil
        }
        return (events.value, events.value.messages.contains(.text("alive")))
    }

    @Test(arguments: ["async", "eventLoop"])
    func healthyClientStaysConnectedAcrossManyServerKeepalivePings(handlerKind: String) async throws {
        let handler = handlerKind == "async" ? asyncEcho : eventLoopEcho
        try await withServer(configuration: Self.patientKeepaliveServer, handler: handler) { server in
            let (events, echoed) = try await WebSocketClient.connect(to: server.url) { inbound, outbound, _ in
                try await Self.stayConnected(for: .milliseconds(1200), inbound: inbound, outbound: outbound)
            }
            #expect(echoed, "connection ended: \(String(describing: events.closedStatus))")
            #expect(events.closedStatus == nil || events.closedStatus?.code == .normalClosure)
        }
    }

    @Test
    func serverAnswersClientKeepalivePings() async throws {
        var configuration = WebSocketClientConfiguration()
        // A server that never answered would be cut after 100 ms + 3 s, inside the 3.5 s
        // stay; 3 s of slack keeps a healthy server on a loaded machine from looking dead.
        configuration.timeouts.keepaliveInterval = .milliseconds(100)
        configuration.timeouts.keepaliveTimeout = .seconds(3)
        let client = configuration
        try await withServer(handler: asyncEcho) { server in
            let (events, echoed) = try await WebSocketClient.connect(to: server.url, configuration: client) {
                inbound, outbound, _ in
                try await Self.stayConnected(for: .milliseconds(3500), inbound: inbound, outbound: outbound)
            }
            #expect(echoed, "connection ended: \(String(describing: events.closedStatus))")
        }
    }

    /// A server handler that only sends (never iterates its inbound events) must still
    /// answer the client's keepalive pings; pings are not the application's to read.
    @Test
    func writeOnlyServerHandlerStillAnswersClientKeepalive() async throws {
        let handler = WebSocketServerHandler.async { _, outbound, context in
            for tick in 0..<110 {
                try await outbound.send(text: "tick \(tick)")
                try await Task.sleep(for: .milliseconds(50))
            }
            _ = try? await context.closed.get()
        }
        var server = WebSocketServerConfiguration.testing
        server.inboundEventBuffer = 4
        var configuration = WebSocketClientConfiguration()
        // If pings queued behind the unread events, four would fill the server's buffer
        // within 0.2 s and the client would give up 3 s later. A hundred messages take 5 s,
        // past that point; the 3 s allows for a loaded machine answering late.
        configuration.timeouts.keepaliveInterval = .milliseconds(50)
        configuration.timeouts.keepaliveTimeout = .seconds(3)
        let client = configuration
        try await withServer(configuration: server, handler: handler) { server in
            let events = try await WebSocketClient.connect(to: server.url, configuration: client) { inbound, _, _ in
                var events: [WebSocketEvent] = []
                var iterator = inbound.makeAsyncIterator()
                while events.messages.count < 100, let event = try await iterator.next() {
                    events.append(event)
                }
                return events
            }
            #expect(events.messages.count == 100, "closed early: \(String(describing: events.closedStatus))")
            #expect(events.closedStatus == nil)
        }
    }

    @Test
    func rawPeerThatNeverAnswersPingsGets1011AndIsDisconnected() async throws {
        try await withServer(configuration: Self.keepaliveServer, handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            let clock = ContinuousClock()
            let response = try await client.handshake()
            let start = clock.now
            try await client.waitForClose()
            let elapsed = client.closedAt! - start
            // 300 ms on a quiet machine; far from the 20 s + 20 s defaults even on a busy one.
            #expect(elapsed < .seconds(5), "disconnected after \(elapsed)")
            let frames = client.frames(after: response.length).frames
            #expect(frames.first?.opcode == 0x9, "a ping comes first")
            #expect(frames.filter { $0.opcode == 0x9 }.count == 1, "no second ping while one is unanswered")
            #expect(frames.last?.opcode == 0x8)
            #expect(frames.last?.closeCode == 1011)
        }
    }

    @Test
    func rawPeerThatAnswersPingsStaysConnected() async throws {
        try await withServer(configuration: Self.patientKeepaliveServer, handler: asyncEcho) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            let response = try await client.handshake()
            // Answer every ping until four cycles have passed: counted in pings, not in
            // wall time, so a busy machine that runs the loop late only makes it slower.
            let deadline = ContinuousClock.now + .seconds(20)
            var answered = 0
            while answered < 4, !client.isClosed, ContinuousClock.now < deadline {
                let pings = client.frames(after: response.length).frames.filter { $0.opcode == 0x9 }
                for ping in pings.dropFirst(answered) {
                    try await client.write(RawFrame.encode(opcode: 0xA, payload: ping.payload))
                }
                answered = pings.count
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(!client.isClosed)
            #expect(answered >= 4)
            #expect(client.frames(after: response.length).frames.allSatisfy { $0.opcode == 0x9 })
        }
    }

    @Test
    func rawPeerThatNeverAnswersCloseIsDisconnectedAfterCloseTimeout() async throws {
        var configuration = WebSocketServerConfiguration.testing
        configuration.timeouts.closeTimeout = .seconds(1)
        // The handler returns at once, so the server starts the closing handshake.
        let handler = WebSocketServerHandler.async { _, _, _ in }
        try await withServer(configuration: configuration, handler: handler) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            // The server sends its close frame after it has read this request, and starts
            // the close timer then: so it cannot close sooner than 1 s after this instant.
            let requestSent = ContinuousClock.now
            let response = try await client.handshake()
            try await client.wait("close frame") { bytes, _ in
                RawFrame.parseAll(Array(bytes.dropFirst(response.length))).frames.contains { $0.opcode == 0x8 }
            }
            try await client.waitForClose()
            let waited = client.closedAt! - requestSent
            // The upper bound stays well under the 10 s default, with slack for a loaded machine.
            #expect(waited >= .seconds(1), "closed \(waited) after the upgrade request")
            #expect(waited < .seconds(7))
            #expect(client.frames(after: response.length).frames.first?.closeCode == 1000)
        }
    }

    @Test
    func rawPeerThatAnswersCloseIsReleasedBeforeCloseTimeout() async throws {
        var configuration = WebSocketServerConfiguration.testing
        configuration.timeouts.closeTimeout = .seconds(30)
        let handler = WebSocketServerHandler.async { _, _, _ in }
        try await withServer(configuration: configuration, handler: handler) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            let response = try await client.handshake()
            try await client.wait("close frame") { bytes, _ in
                RawFrame.parseAll(Array(bytes.dropFirst(response.length))).frames.contains { $0.opcode == 0x8 }
            }
            let clock = ContinuousClock()
            let start = clock.now
            try await client.write(RawFrame.close(code: 1000))
            try await client.waitForClose()
            #expect(client.closedAt! - start < .seconds(10), "held until the 30 s close timeout")
        }
    }
}
