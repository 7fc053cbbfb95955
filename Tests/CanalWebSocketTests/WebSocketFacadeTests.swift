import CanalWebSocket
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import Testing

/// The browser-shaped `WebSocket` against our server (and against raw servers for the
/// orderings our server cannot force).
@Suite(.timeLimit(.minutes(1)))
struct WebSocketFacadeTests {
    /// What the handlers saw, in order.
    final class Log: Sendable {
        let entries = Recorder<[String]>([])
        let closeStatus = Recorder<WebSocketCloseStatus?>(nil)
        let states = Recorder<[WebSocket.ReadyState]>([])

        func record(_ entry: String) {
            entries.update { $0.append(entry) }
        }

        /// Sets every handler of `socket` to write here, noting readyState as each runs.
        func attach(to socket: WebSocket) {
            socket.onopen = { [self, weak socket] in
                record("open")
                if let socket { states.update { $0.append(socket.readyState) } }
            }
            socket.onmessage = { [self] message in
                record("message:" + (message.text ?? "binary(\(message.data.readableBytes))"))
            }
            socket.onerror = { [self] _ in record("error") }
            socket.onclose = { [self, weak socket] status in
                if let socket { states.update { $0.append(socket.readyState) } }
                record("close:\(status.code.rawValue)")
                closeStatus.update { $0 = status }
            }
        }
    }

    @Test
    func readyStateGoesConnectingOpenClosingClosed() async throws {
        try await withServer(handler: asyncEcho) { server in
            let socket = WebSocket(url: server.url)
            let log = Log()
            log.attach(to: socket)
            #expect(socket.readyState == .connecting)
            #expect(socket.url == server.url)
            try await waitUntil("open") { log.entries.value.contains("open") }
            #expect(socket.readyState == .open)
            #expect(log.states.value == [.open])
            try socket.close(code: 1000, reason: "done")
            #expect(socket.readyState == .closing)
            try await waitUntil("close") { log.closeStatus.value != nil }
            #expect(socket.readyState == .closed)
            #expect(log.states.value == [.open, .closed])
            #expect(log.entries.value == ["open", "close:1000"])
            #expect(log.closeStatus.value?.wasClean == true)
        }
    }

    @Test
    func onopenComesBeforeGreetingSentImmediatelyByServer() async throws {
        let handler = WebSocketServerHandler.async { inbound, outbound, _ in
            try await outbound.send(text: "welcome")
            for try await message in inbound.messages { try await outbound.send(message) }
        }
        try await withServer(handler: handler) { server in
            for _ in 0..<20 {
                let socket = WebSocket(url: server.url)
                let log = Log()
                log.attach(to: socket)
                try await waitUntil("greeting") { log.entries.value.contains("message:welcome") }
                #expect(log.entries.value == ["open", "message:welcome"])
                try socket.close(code: 1000)
                try await waitUntil("close") { log.closeStatus.value != nil }
            }
        }
    }

    /// The 101 and the first frame arrive in one TCP segment: the message must still wait for onopen.
    @Test
    func onopenComesBeforeGreetingInSameSegmentAsHandshakeResponse() async throws {
        let server = try await RawServer.start(.accept(then: RawFrame.text("welcome", mask: nil)))
        do {
            for _ in 0..<20 {
                let socket = WebSocket(url: "ws://127.0.0.1:\(server.port)/")
                let log = Log()
                log.attach(to: socket)
                try await waitUntil("greeting") { log.entries.value.contains("message:welcome") }
                #expect(log.entries.value == ["open", "message:welcome"])
                try socket.close(code: 1000)
            }
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test
    func sendWhileConnectingThrows() async throws {
        // The server never answers, so the socket stays in CONNECTING for the whole test.
        let server = try await RawServer.start(.silent)
        let socket = WebSocket(url: "ws://127.0.0.1:\(server.port)/")
        let log = Log()
        log.attach(to: socket)
        #expect(socket.readyState == .connecting)
        #expect(throws: WebSocketUsageError.self) { try socket.send("too early") }
        #expect(throws: WebSocketUsageError.self) { try socket.send([1, 2, 3] as [UInt8]) }
        #expect(socket.bufferedAmount == 0)
        try await Task.sleep(for: .milliseconds(100))
        #expect(socket.readyState == .connecting)
        #expect(log.entries.value.isEmpty)
        try await server.stop()
    }

    @Test
    func serverDropsConnectionDuringHandshakeOnerrorThenOnclose1006() async throws {
        let server = try await RawServer.start(.silent)
        let socket = WebSocket(url: "ws://127.0.0.1:\(server.port)/")
        let log = Log()
        log.attach(to: socket)
        // Closing only once the request is read makes the close a clean FIN, not a reset.
        try await waitUntil("server read the request") { server.requestCount == 1 }
        try await server.stop()
        // Well before the 10 s handshake timeout.
        try await waitUntil("close after the server went away", within: .seconds(20)) { log.closeStatus.value != nil }
        #expect(log.entries.value == ["error", "close:1006"])
        #expect(socket.readyState == .closed)
    }

    @Test
    func bufferedAmountRisesAfterBigSendAndReturnsToZero() async throws {
        let size = 1 << 20
        var configuration = WebSocketServerConfiguration.testing
        configuration.webSocket.maxFrameSize = size
        configuration.webSocket.maxMessageSize = size
        let received = Recorder(0)
        let handler = WebSocketServerHandler.eventLoop { _ in
            { event, _ in
                if case .message(let message) = event { received.update { $0 += message.data.readableBytes } }
            }
        }
        try await withServer(configuration: configuration, handler: handler) { server in
            let socket = WebSocket(url: server.url)
            let log = Log()
            log.attach(to: socket)
            try await waitUntil("open") { socket.readyState == .open }
            let payload = patternBytes(size)
            try socket.send(payload)
            try socket.send(payload)
            let right = socket.bufferedAmount
            #expect(right > 0, "nothing buffered right after sending 2 MiB")
            #expect(right <= 2 * size)
            try await waitUntil("bufferedAmount back to 0", within: .seconds(10)) { socket.bufferedAmount == 0 }
            try await waitUntil("server received both", within: .seconds(10)) { received.value == 2 * size }
            try socket.close(code: 1000)
            try await waitUntil("close") { log.closeStatus.value != nil }
        }
    }

    @Test
    func protocolShowsSubprotocolSelectedByServer() async throws {
        let shouldUpgrade: @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision = { request in
            .accept(subprotocol: request.requestedProtocols.last)
        }
        try await withServer(shouldUpgrade: shouldUpgrade, handler: asyncEcho) { server in
            let socket = WebSocket(url: server.url, protocols: ["v1.chat", "v2.chat"])
            let log = Log()
            log.attach(to: socket)
            #expect(socket.protocol == "")
            try await waitUntil("open") { log.entries.value.contains("open") }
            #expect(socket.protocol == "v2.chat")
            try socket.close()
            try await waitUntil("close") { log.closeStatus.value != nil }
        }
    }

    @Test
    func protocolIsEmptyWhenServerSelectsNone() async throws {
        try await withServer(handler: asyncEcho) { server in
            let socket = WebSocket(url: server.url, protocols: ["v1.chat"])
            let log = Log()
            log.attach(to: socket)
            try await waitUntil("open") { log.entries.value.contains("open") }
            #expect(socket.protocol == "")
            try socket.close()
            try await waitUntil("close") { log.closeStatus.value != nil }
        }
    }

    @Test
    func sendTextAndBinaryGetEchoedToOnmessage() async throws {
        try await withServer(handler: eventLoopEcho) { server in
            let socket = WebSocket(url: server.url)
            let log = Log()
            log.attach(to: socket)
            try await waitUntil("open") { log.entries.value.contains("open") }
            try socket.send("hello")
            try socket.send([1, 2, 3] as [UInt8])
            try await waitUntil("two echoes") { log.entries.value.count == 3 }
            #expect(log.entries.value == ["open", "message:hello", "message:binary(3)"])
            try socket.close(code: 1000)
            try await waitUntil("close") { log.closeStatus.value != nil }
        }
    }

    @Test
    func closeWith1000GivesCleanOnclose() async throws {
        let serverSaw = Recorder<(code: WebSocketCloseCode?, reason: String)?>(nil)
        let handler = WebSocketServerHandler.async { inbound, _, _ in
            let events = try await allEvents(inbound)
            serverSaw.update { $0 = events.closeReceived }
        }
        try await withServer(handler: handler) { server in
            let socket = WebSocket(url: server.url)
            let log = Log()
            log.attach(to: socket)
            try await waitUntil("open") { log.entries.value.contains("open") }
            try socket.close(code: 1000, reason: "finished")
            try await waitUntil("close") { log.closeStatus.value != nil }
            #expect(log.closeStatus.value?.wasClean == true)
            #expect(log.closeStatus.value?.code == .normalClosure)
            #expect(!log.entries.value.contains("error"))
            try await waitUntil("server saw the close") { serverSaw.value != nil }
            #expect(serverSaw.value?.code == .normalClosure)
            #expect(serverSaw.value?.reason == "finished")
        }
    }

    @Test
    func closeWithApplicationCodeReachesServer() async throws {
        let serverSaw = Recorder<WebSocketCloseCode?>(nil)
        let handler = WebSocketServerHandler.async { inbound, _, _ in
            let code = (try? await allEvents(inbound))?.closeReceived?.code
            serverSaw.update { $0 = code }
        }
        try await withServer(handler: handler) { server in
            let socket = WebSocket(url: server.url)
            let log = Log()
            log.attach(to: socket)
            try await waitUntil("open") { log.entries.value.contains("open") }
            try socket.close(code: 4321)
            try await waitUntil("close") { log.closeStatus.value != nil }
            #expect(log.closeStatus.value?.code.rawValue == 4321)
            try await waitUntil("server saw the close") { serverSaw.value != nil }
            #expect(serverSaw.value?.rawValue == 4321)
        }
    }

    @Test(arguments: [1001, 1005, 1006, 1011, 2999, 5000] as [UInt16])
    func closeWithCodeOutside1000And3000To4999Throws(code: UInt16) async throws {
        try await withServer(handler: asyncEcho) { server in
            let socket = WebSocket(url: server.url)
            let log = Log()
            log.attach(to: socket)
            try await waitUntil("open") { log.entries.value.contains("open") }
            #expect(throws: WebSocketUsageError.self) { try socket.close(code: code) }
            #expect(socket.readyState == .open)
            #expect(throws: WebSocketUsageError.self) {
                try socket.close(code: 1000, reason: String(repeating: "x", count: 124))
            }
            #expect(socket.readyState == .open)
            try socket.close(code: 1000)
            try await waitUntil("close") { log.closeStatus.value != nil }
        }
    }

    @Test
    func serverClosesOncloseReportsCodeAndState() async throws {
        let handler = WebSocketServerHandler.async { _, outbound, _ in
            try await outbound.close(code: WebSocketCloseCode(4100), reason: "kicked")
        }
        try await withServer(handler: handler) { server in
            let socket = WebSocket(url: server.url)
            let log = Log()
            log.attach(to: socket)
            try await waitUntil("close") { log.closeStatus.value != nil }
            #expect(log.closeStatus.value?.code.rawValue == 4100)
            #expect(log.closeStatus.value?.reason == "kicked")
            #expect(log.closeStatus.value?.wasClean == true)
            #expect(socket.readyState == .closed)
            #expect(log.entries.value == ["open", "close:4100"])
            // Sending after close is not an error in browsers: the data is dropped.
            try socket.send("ignored")
        }
    }

    @Test
    func connectingToClosedPortGivesOnerrorThenOnclose1006() async throws {
        let refusing = try closedPort()
        defer { refusing.close() }
        let socket = WebSocket(url: "ws://127.0.0.1:\(refusing.port)/")
        let log = Log()
        log.attach(to: socket)
        try await waitUntil("close") { log.closeStatus.value != nil }
        #expect(log.entries.value == ["error", "close:1006"])
        #expect(log.closeStatus.value?.wasClean == false)
        #expect(socket.readyState == .closed)
    }

    /// In a browser, handlers set anywhere in the task that created the socket see every
    /// event, because events wait for that task to end. Here the creating thread may be
    /// descheduled right after `init` while the event loop runs ahead (on a loaded machine
    /// a refused connect beats `log.attach` about once in a few hundred tries). The test
    /// forces that interleaving: still synchronously, it spins until the connection has
    /// failed, and only then sets the handlers; they must still be told.
    @Test
    func handlersSetAfterInitStillSeeFastRefusal() async throws {
        let refusing = try closedPort()
        defer { refusing.close() }
        let socket = WebSocket(url: "ws://127.0.0.1:\(refusing.port)/")
        for _ in 0..<20_000 where socket.readyState != .closed {
            usleep(1000)  // synchronous: still "the same task" in browser terms
        }
        #expect(socket.readyState == .closed)
        let log = Log()
        log.attach(to: socket)
        try await waitUntil("handlers told of the failure", within: .seconds(20)) { log.closeStatus.value != nil }
        #expect(log.entries.value == ["error", "close:1006"])
    }

    @Test
    func closeWhileConnectingEndsWithoutOpen() async throws {
        try await withServer(handler: asyncEcho) { server in
            let socket = WebSocket(url: server.url)
            let log = Log()
            log.attach(to: socket)
            try socket.close(code: 1000)
            #expect(socket.readyState == .closing)
            try await waitUntil("close") { log.closeStatus.value != nil }
            #expect(!log.entries.value.contains("open"))
            #expect(log.entries.value.last == "close:1006")
            #expect(socket.readyState == .closed)
        }
    }
}
