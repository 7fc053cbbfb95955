import CanalWebSocket
import NIOCore
import NIOHTTP1
import Testing

/// Our client against our server on 127.0.0.1, through the public API only.
@Suite(.timeLimit(.minutes(1)))
struct ServerClientTests {
    // MARK: Echo

    @Test(arguments: ["async", "eventLoop"])
    func clientSendsTextBinaryAndEmptyMessagesServerEchoesThem(handlerKind: String) async throws {
        let handler = handlerKind == "async" ? asyncEcho : eventLoopEcho
        try await withServer(handler: handler) { server in
            let sent: [WebSocketMessage] = [
                .text("hello"),
                .text("héllo wörld ✓"),
                .binary([0x00, 0xFF, 0x10, 0x80]),
                .text(""),
                .binary([UInt8]()),
            ]
            let echoed = try await WebSocketClient.connect(to: server.url) { inbound, outbound, _ in
                var iterator = inbound.makeAsyncIterator()
                var echoed: [WebSocketMessage] = []
                for message in sent {
                    try await outbound.send(message)
                    if let reply = try await nextMessage(&iterator) { echoed.append(reply) }
                }
                return echoed
            }
            #expect(echoed == sent)
        }
    }

    @Test(arguments: ["async", "eventLoop"])
    func clientSendsOneMiBWithRaisedLimitsServerEchoesItIntact(handlerKind: String) async throws {
        let size = (1 << 20) + 17
        var limits = WebSocketConfiguration()
        limits.maxFrameSize = 2 << 20
        limits.maxMessageSize = 2 << 20
        var serverConfiguration = WebSocketServerConfiguration.testing
        serverConfiguration.webSocket = limits
        let clientConfiguration = WebSocketClientConfiguration(webSocket: limits)
        let handler = handlerKind == "async" ? asyncEcho : eventLoopEcho
        try await withServer(configuration: serverConfiguration, handler: handler) { server in
            let payload = patternBytes(size)
            let echoed = try await WebSocketClient.connect(to: server.url, configuration: clientConfiguration) {
                inbound, outbound, _ in
                try await outbound.send(binary: payload)
                var iterator = inbound.makeAsyncIterator()
                return try await nextMessage(&iterator)
            }
            #expect(echoed?.kind == .binary)
            #expect(echoed?.data.readableBytes == size)
            #expect(echoed?.data == payload)
        }
    }

    @Test
    func clientSendsManyMessagesQuicklyServerEchoesAllInOrder() async throws {
        try await withServer(handler: eventLoopEcho) { server in
            let count = 500
            let echoed = try await WebSocketClient.connect(to: server.url) { inbound, outbound, _ in
                for index in 0..<count { try await outbound.send(text: "m\(index)") }
                var texts: [String] = []
                var iterator = inbound.makeAsyncIterator()
                while texts.count < count, let message = try await nextMessage(&iterator) {
                    texts.append(message.text ?? "")
                }
                return texts
            }
            #expect(echoed == (0..<count).map { "m\($0)" })
        }
    }

    // MARK: Handshake decisions

    @Test
    func serverSelectsSubprotocolInShouldUpgradeClientSeesIt() async throws {
        let offered = Recorder<[String]>([])
        let serverSide = Recorder<String?>(nil)
        let handler = WebSocketServerHandler.async { _, _, context in
            serverSide.update { $0 = context.subprotocol }
        }
        let shouldUpgrade: @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision = { request in
            offered.update { $0 = request.requestedProtocols }
            return .accept(subprotocol: "chat.v2")
        }
        try await withServer(shouldUpgrade: shouldUpgrade, handler: handler) { server in
            var configuration = WebSocketClientConfiguration()
            configuration.protocols = ["chat.v1", "chat.v2"]
            let selected = try await WebSocketClient.connect(to: server.url, configuration: configuration) {
                inbound, _, context in
                _ = try await allEvents(inbound)
                return context.subprotocol
            }
            #expect(selected == "chat.v2")
            #expect(offered.value == ["chat.v1", "chat.v2"])
            #expect(serverSide.value == "chat.v2")
        }
    }

    @Test
    func serverRejectsWith403AndHeaderClientGetsStatusHeaderAndBody() async throws {
        let shouldUpgrade: @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision = { _ in
            var headers = HTTPHeaders()
            headers.add(name: "X-Canal-Reason", value: "origin-denied")
            return .reject(
                WebSocketHandshakeRejection(status: .forbidden, headers: headers, body: "origin not allowed")
            )
        }
        let handlerRan = Recorder(false)
        let handler = WebSocketServerHandler.async { _, _, _ in handlerRan.update { $0 = true } }
        try await withServer(shouldUpgrade: shouldUpgrade, handler: handler) { server in
            do {
                try await WebSocketClient.connect(to: server.url) { _, _, _ -> Void in
                    Issue.record("the connection should have been refused")
                }
                Issue.record("connect did not throw")
            } catch let error as WebSocketClientError {
                #expect(error.kind == .handshakeFailed)
                #expect(error.status == .forbidden)
                #expect(error.bodyExcerpt?.contains("origin not allowed") == true)
                #expect(error.headers?.first(name: "X-Canal-Reason") == "origin-denied")
            }
            #expect(!handlerRan.value)
        }
    }

    @Test
    func clientSetsOriginShouldUpgradeSeesIt() async throws {
        let seen = Recorder<String?>(nil)
        let shouldUpgrade: @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision = { request in
            seen.update { $0 = request.origin }
            guard request.origin == "https://allowed.example" else {
                return .reject(WebSocketHandshakeRejection(status: .forbidden))
            }
            return .accept
        }
        try await withServer(shouldUpgrade: shouldUpgrade, handler: asyncEcho) { server in
            var configuration = WebSocketClientConfiguration()
            configuration.origin = "https://allowed.example"
            let reply = try await WebSocketClient.connect(to: server.url, configuration: configuration) {
                inbound, outbound, _ in
                try await outbound.send(text: "ping")
                var iterator = inbound.makeAsyncIterator()
                return try await nextMessage(&iterator)?.text
            }
            #expect(reply == "ping")
            #expect(seen.value == "https://allowed.example")

            configuration.origin = "https://evil.example"
            await #expect(throws: WebSocketClientError.self) {
                try await WebSocketClient.connect(to: server.url, configuration: configuration) { _, _, _ in }
            }
            #expect(seen.value == "https://evil.example")
        }
    }

    @Test
    func clientCustomHeadersAndPathReachServer() async throws {
        let seen = Recorder<(token: String?, cookie: String?, path: String?, query: String?)>((nil, nil, nil, nil))
        let handler = WebSocketServerHandler.async { _, _, context in
            let request = context.request
            seen.update {
                $0 = (
                    request?.headers.first(name: "X-Token"),
                    request?.headers.first(name: "Cookie"),
                    request?.path,
                    request?.uri
                )
            }
        }
        try await withServer(handler: handler) { server in
            var configuration = WebSocketClientConfiguration()
            configuration.headers.add(name: "X-Token", value: "abc123")
            configuration.headers.add(name: "Cookie", value: "session=42")
            try await WebSocketClient.connect(to: server.url + "room/7?user=ann", configuration: configuration) {
                inbound, _, _ in
                _ = try await allEvents(inbound)
            }
            #expect(seen.value.token == "abc123")
            #expect(seen.value.cookie == "session=42")
            #expect(seen.value.path == "/room/7")
            #expect(seen.value.query == "/room/7?user=ann")
        }
    }

    // MARK: Closing

    @Test
    func clientClosesWith4000ByeServerSeesItCleanly() async throws {
        let serverEvents = Recorder<[WebSocketEvent]>([])
        let serverStatus = Recorder<WebSocketCloseStatus?>(nil)
        let handler = WebSocketServerHandler.async { inbound, _, context in
            let events = try await allEvents(inbound)
            serverEvents.update { $0 = events }
            let status = try await value(of: context.closed, within: .seconds(20), "server closed")
            serverStatus.update { $0 = status }
        }
        try await withServer(handler: handler) { server in
            let clientStatus = try await WebSocketClient.connect(to: server.url) { inbound, outbound, context in
                try await outbound.close(code: WebSocketCloseCode(4000), reason: "bye")
                _ = try await allEvents(inbound)
                return try await value(of: context.closed, within: .seconds(20), "client closed")
            }
            #expect(clientStatus.code.rawValue == 4000)  // the server echoes the code
            #expect(clientStatus.wasClean)
            try await waitUntil("server handler finished") { serverStatus.value != nil }
            let received = serverEvents.value.closeReceived
            #expect(received?.code?.rawValue == 4000)
            #expect(received?.reason == "bye")
            #expect(serverEvents.value.closedStatus?.code.rawValue == 4000)
            #expect(serverStatus.value?.code.rawValue == 4000)
            #expect(serverStatus.value?.reason == "bye")
            #expect(serverStatus.value?.wasClean == true)
        }
    }

    @Test
    func serverClosesWith4001ClientSeesCodeAndReason() async throws {
        let handler = WebSocketServerHandler.async { inbound, outbound, _ in
            try await outbound.close(code: WebSocketCloseCode(4001), reason: "go away now")
            _ = try await allEvents(inbound)
        }
        try await withServer(handler: handler) { server in
            let events = try await WebSocketClient.connect(to: server.url) { inbound, _, _ in
                try await allEvents(inbound)
            }
            #expect(events.closeReceived?.code?.rawValue == 4001)
            #expect(events.closeReceived?.reason == "go away now")
            #expect(events.closedStatus?.code.rawValue == 4001)
            #expect(events.closedStatus?.wasClean == true)
        }
    }

    @Test
    func serverHandlerReturnsClientSees1000() async throws {
        let handler = WebSocketServerHandler.async { _, outbound, _ in
            try await outbound.send(text: "goodbye")
        }
        try await withServer(handler: handler) { server in
            let events = try await WebSocketClient.connect(to: server.url) { inbound, _, _ in
                try await allEvents(inbound)
            }
            #expect(events.messages.map(\.text) == ["goodbye"])
            #expect(events.closedStatus?.code == .normalClosure)
            #expect(events.closedStatus?.wasClean == true)
        }
    }

    @Test
    func serverHandlerThrowsClientSees1011WithoutDetails() async throws {
        struct Boom: Error {}
        let handler = WebSocketServerHandler.async { inbound, _, _ in
            var iterator = inbound.makeAsyncIterator()
            _ = try await nextMessage(&iterator)
            throw Boom()
        }
        try await withServer(handler: handler) { server in
            let events = try await WebSocketClient.connect(to: server.url) { inbound, outbound, _ in
                try await outbound.send(text: "trigger")
                return try await allEvents(inbound)
            }
            #expect(events.closeReceived?.code == .internalError)
            #expect(events.closeReceived?.reason == "")
            #expect(events.closedStatus?.code == .internalError)
        }
    }

    @Test
    func clientBodyThrowsServerSees1011AndErrorIsRethrown() async throws {
        struct Boom: Error {}
        let serverEvents = Recorder<[WebSocketEvent]?>(nil)
        let handler = WebSocketServerHandler.async { inbound, _, _ in
            let events = try await allEvents(inbound)
            serverEvents.update { $0 = events }
        }
        try await withServer(handler: handler) { server in
            await #expect(throws: Boom.self) {
                try await WebSocketClient.connect(to: server.url) { _, _, _ in throw Boom() }
            }
            try await waitUntil("server saw the close") { serverEvents.value != nil }
            #expect(serverEvents.value?.closeReceived?.code == .internalError)
        }
    }

    @Test
    func clientSendsOversizeMessageServerFails1009ClientSeesIt() async throws {
        var serverConfiguration = WebSocketServerConfiguration.testing
        serverConfiguration.webSocket.maxMessageSize = 64 * 1024
        serverConfiguration.webSocket.maxFrameSize = 64 * 1024
        let serverEvents = Recorder<[WebSocketEvent]?>(nil)
        let handler = WebSocketServerHandler.async { inbound, _, _ in
            let events = try await allEvents(inbound)
            serverEvents.update { $0 = events }
        }
        try await withServer(configuration: serverConfiguration, handler: handler) { server in
            let events = try await WebSocketClient.connect(to: server.url) { inbound, outbound, _ in
                try await outbound.send(binary: patternBytes(64 * 1024 + 1))
                return try await allEvents(inbound)
            }
            #expect(events.closeReceived?.code == .messageTooBig)
            #expect(events.closedStatus?.code == .messageTooBig)
            try await waitUntil("server handler finished") { serverEvents.value != nil }
            #expect(serverEvents.value?.messages.isEmpty == true)
            #expect(serverEvents.value?.closedStatus?.error?.closeCode == .messageTooBig)
        }
    }

    @Test
    func serverSendsOversizeMessageClientFails1009ServerSeesIt() async throws {
        let serverEvents = Recorder<[WebSocketEvent]?>(nil)
        let handler = WebSocketServerHandler.async { inbound, outbound, _ in
            try await outbound.send(binary: patternBytes(4096))
            let events = try await allEvents(inbound)
            serverEvents.update { $0 = events }
        }
        try await withServer(handler: handler) { server in
            var configuration = WebSocketClientConfiguration()
            configuration.webSocket.maxMessageSize = 1024
            let events = try await WebSocketClient.connect(to: server.url, configuration: configuration) {
                inbound, _, _ in
                try await allEvents(inbound)
            }
            #expect(events.messages.isEmpty)
            #expect(events.closedStatus?.error?.closeCode == .messageTooBig)
            try await waitUntil("server handler finished") { serverEvents.value != nil }
            #expect(serverEvents.value?.closeReceived?.code == .messageTooBig)
        }
    }

    // MARK: Event-loop client

    @Test
    func eventLoopClientEchoesAndSeesClose() async throws {
        try await withServer(handler: eventLoopEcho) { server in
            let received = Recorder<[WebSocketEvent]>([])
            let connection = try await value(
                of: WebSocketClient.connect(to: server.url) {
                    { event, _ in received.update { $0.append(event) } }
                },
                "event-loop connect"
            )
            try await value(of: connection.send(.message(.text("one"))), "send")
            try await value(of: connection.send(.message(.binary([1, 2, 3]))), "send")
            try await waitUntil("two echoes") { received.value.messages.count == 2 }
            #expect(received.value.messages == [.text("one"), .binary([1, 2, 3])])
            connection.send(.close(code: WebSocketCloseCode(4002), reason: "done"))
            let status = try await value(of: connection.closed, "closed")
            #expect(status.code.rawValue == 4002)
            #expect(status.wasClean)
            // `closed` completes just before the callback gets `.closed`.
            try await waitUntil("callback saw the close") { received.value.closedStatus != nil }
            #expect(received.value.closedStatus == status)
        }
    }

    @Test
    func eventLoopServerCallbackReceivesRequestAndCloses() async throws {
        let paths = Recorder<[String]>([])
        let handler = WebSocketServerHandler.eventLoop { request in
            paths.update { $0.append(request.path) }
            return { event, socket in
                if case .message(let message) = event, message.text == "quit" {
                    socket.close(code: WebSocketCloseCode(4003), reason: "as asked")
                }
            }
        }
        try await withServer(handler: handler) { server in
            let events = try await WebSocketClient.connect(to: server.url + "el") { inbound, outbound, _ in
                try await outbound.send(text: "quit")
                return try await allEvents(inbound)
            }
            #expect(events.closedStatus?.code.rawValue == 4003)
            #expect(events.closedStatus?.reason == "as asked")
            #expect(paths.value == ["/el"])
        }
    }
}
