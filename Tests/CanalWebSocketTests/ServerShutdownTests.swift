import CanalWebSocket
import Testing

/// `WebSocketServer.shutdown()`: open connections get 1001 and `run()` returns in bounded time.
@Suite(.timeLimit(.minutes(1)))
struct ServerShutdownTests {
    @Test(arguments: ["async", "eventLoop"])
    func serverShutdownClientsSee1001AndRunReturns(handlerKind: String) async throws {
        let handler = handlerKind == "async" ? asyncEcho : eventLoopEcho
        // A long shutdownTimeout: run() must return because the connections closed.
        var configuration = WebSocketServerConfiguration.testing
        configuration.shutdownTimeout = .seconds(30)
        let server = try await WebSocketServer.bind(
            host: "127.0.0.1",
            port: 0,
            configuration: configuration,
            logger: quietLogger,
            handler: handler
        )
        let running = TestServer(server: server, runTask: Task { try await server.run() })
        let connected = Recorder(0)
        let clients = (0..<3).map { _ in
            Task {
                try await withTimeout(.seconds(15), "client") {
                    try await WebSocketClient.connect(to: running.url) { inbound, outbound, _ in
                        try await outbound.send(text: "hi")
                        var iterator = inbound.makeAsyncIterator()
                        _ = try await nextMessage(&iterator)
                        connected.update { $0 += 1 }
                        var events: [WebSocketEvent] = []
                        while let event = try await iterator.next() { events.append(event) }
                        return events
                    }
                }
            }
        }
        do {
            try await waitUntil("three clients connected") { connected.value == 3 }
        } catch {
            try? await running.stop()
            throw error
        }
        let clock = ContinuousClock()
        let start = clock.now
        try await running.stop(within: .seconds(8))
        #expect(clock.now - start < .seconds(5))
        for client in clients {
            let events = try await client.value
            #expect(events.closeReceived?.code == .goingAway)
            #expect(events.closedStatus?.code == .goingAway)
            #expect(events.closedStatus?.wasClean == true)
        }
    }

    @Test
    func serverShutdownWithNoConnectionsRunReturnsPromptly() async throws {
        var configuration = WebSocketServerConfiguration.testing
        configuration.shutdownTimeout = .seconds(30)
        let server = try await WebSocketServer.bind(
            host: "127.0.0.1",
            port: 0,
            configuration: configuration,
            logger: quietLogger,
            handler: asyncEcho
        )
        let running = TestServer(server: server, runTask: Task { try await server.run() })
        try await running.stop(within: .seconds(5))
    }

    @Test
    func serverShutdownWhileAsyncHandlerIgnoresInboundRunStillReturns() async throws {
        // A handler busy with something else (here: sleeping) must not keep run() alive
        // past shutdownTimeout: the connection is closed under it.
        var configuration = WebSocketServerConfiguration.testing
        configuration.shutdownTimeout = .seconds(1)
        configuration.timeouts.closeTimeout = .seconds(1)
        let started = Recorder(false)
        let handler = WebSocketServerHandler.async { _, _, _ in
            started.update { $0 = true }
            try await Task.sleep(for: .seconds(30))
        }
        let server = try await WebSocketServer.bind(
            host: "127.0.0.1",
            port: 0,
            configuration: configuration,
            logger: quietLogger,
            handler: handler
        )
        let running = TestServer(server: server, runTask: Task { try await server.run() })
        let client = Task {
            try await withTimeout(.seconds(10), "client") {
                try await WebSocketClient.connect(to: running.url) { inbound, _, _ in try await allEvents(inbound) }
            }
        }
        try await waitUntil("handler started") { started.value }
        let clock = ContinuousClock()
        let start = clock.now
        let stopped: Bool
        do {
            try await running.stop(within: .seconds(8))
            stopped = true
        } catch {
            stopped = false
        }
        #expect(stopped, "run() did not return within 8 s of shutdown() while a handler was busy")
        #expect(clock.now - start < .seconds(5))
        let events = try await client.value
        #expect(events.closeReceived?.code == .goingAway)
        running.runTask.cancel()
    }
}
