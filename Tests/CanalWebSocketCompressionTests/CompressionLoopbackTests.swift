import CanalWebSocket
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import CanalWebSocketCompression

/// permessage-deflate through the NIO server and client on 127.0.0.1, port 0.
@Suite("Loopback compression", .timeLimit(.minutes(1)))
struct CompressionLoopbackTests {
    static let echo = WebSocketServerHandler.eventLoop { _ in
        { event, socket in
            if case .message(let message) = event { socket.send(message) }
        }
    }

    static func server(_ compression: PerMessageDeflateConfiguration?, maxMessageSize: Int = 1 << 20) async throws
        -> WebSocketServer
    {
        var configuration = WebSocketServerConfiguration()
        configuration.compression = compression
        configuration.webSocket.maxMessageSize = maxMessageSize
        configuration.webSocket.maxFrameSize = maxMessageSize
        configuration.shutdownTimeout = .seconds(2)
        return try await WebSocketServer.bind(host: "127.0.0.1", port: 0, configuration: configuration, handler: echo)
    }

    static let offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"

    @Test
    func serverWithCompressionAcceptsOfferAndAnswersCompressed() async throws {
        let server = try await Self.server(.balanced)
        defer { server.shutdown() }
        let raw = try await RawSocket.connect(port: server.localAddress.port!)
        defer { raw.close() }
        let head = try await raw.handshake(extraHeader: Self.offer)
        #expect(
            head.contains(
                "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=12\r\n"
            )
        )
        let text = String(repeating: "compressible text ", count: 100)
        try await raw.write(frame(opText, rawDeflate(Array(text.utf8), windowBits: 12), rsv1: true, masked: true))
        let reply = try await raw.nextFrame()
        #expect(reply.rsv1)
        #expect(rawInflate(reply.payload) == Array(text.utf8))
    }

    @Test
    func serverEchoesABrowserLikeClientThatKeepsItsContextInItsWindow() async throws {
        let server = try await Self.server(.balanced)
        defer { server.shutdown() }
        let raw = try await RawSocket.connect(port: server.localAddress.port!)
        defer { raw.close() }
        _ = try await raw.handshake(extraHeader: Self.offer)
        // As a browser does after `client_max_window_bits=12`: one stream for every message.
        let peer = PeerCompressorForTest(windowBits: 12)
        for line in PerMessageDeflateCodecTests.logLines(20, seed: 21) {
            try await raw.write(frame(opText, peer.compress(Array(line.utf8)), rsv1: true, masked: true))
            let reply = try await raw.nextFrame()
            #expect(reply.rsv1)
            #expect(rawInflate(reply.payload) == Array(line.utf8))
        }
    }

    @Test
    func serverWithoutCompressionDeclinesOffer() async throws {
        let server = try await Self.server(nil)
        defer { server.shutdown() }
        let raw = try await RawSocket.connect(port: server.localAddress.port!)
        defer { raw.close() }
        let head = try await raw.handshake(extraHeader: Self.offer)
        #expect(head.hasPrefix("HTTP/1.1 101"))
        #expect(!head.lowercased().contains("sec-websocket-extensions"))
    }

    @Test
    func serverWithCompressionDeclinesInvalidOfferAndStillUpgrades() async throws {
        let server = try await Self.server(.balanced)
        defer { server.shutdown() }
        let raw = try await RawSocket.connect(port: server.localAddress.port!)
        defer { raw.close() }
        let head = try await raw.handshake(
            extraHeader: "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99"
        )
        #expect(head.hasPrefix("HTTP/1.1 101"))
        #expect(!head.lowercased().contains("sec-websocket-extensions"))
    }

    @Test
    func clientAndServerWithCompressionEchoMessagesOfEverySize() async throws {
        let server = try await Self.server(.balanced)
        defer { server.shutdown() }
        let sizes = [0, 1, 127, 128, 4096, 200_000]
        let received = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(server.localAddress.port!)/") {
            inbound,
            outbound,
            _ in
            var echoed: [WebSocketMessage] = []
            for size in sizes {
                let text = String((0..<size).map { _ in "abcde".randomElement()! })
                try await outbound.send(.text(text))
            }
            for try await message in inbound.messages {
                echoed.append(message)
                if echoed.count == sizes.count { break }
            }
            return echoed
        }
        #expect(received.map { $0.data.readableBytes } == sizes)
    }

    @Test
    func clientSendingABombIsClosedWith1009() async throws {
        let server = try await Self.server(.balanced, maxMessageSize: 64 * 1024)
        defer { server.shutdown() }
        let status = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(server.localAddress.port!)/") {
            inbound,
            outbound,
            context in
            // 8 MiB of zeros compress to about 8 KiB: well under any frame limit.
            try await outbound.send(.binary([UInt8](repeating: 0, count: 8 << 20)))
            for try await _ in inbound {}
            return try await context.closed.get()
        }
        #expect(status.code == .messageTooBig)
    }

    @Test(arguments: [
        "permessage-deflate; foo",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate, permessage-deflate",
    ])
    func clientFailsHandshakeOnInvalidResponse(_ response: String) async throws {
        let fake = try await FakeServer.start(extensionsResponse: response)
        defer { fake.stop() }
        await #expect {
            try await WebSocketClient.connect(to: "ws://127.0.0.1:\(fake.port)/") { _, _, _ in }
        } throws: { error in
            (error as? WebSocketClientError)?.kind == .handshakeFailed
                && "\(error)".contains("permessage-deflate")
        }
        #expect(
            fake.requestHead.contains(
                "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; client_max_window_bits\r\n"
            )
        )
    }

    @Test
    func clientWithoutCompressionOffersNothing() async throws {
        let fake = try await FakeServer.start(extensionsResponse: nil)
        defer { fake.stop() }
        var configuration = WebSocketClientConfiguration()
        configuration.compression = nil
        try await WebSocketClient.connect(to: "ws://127.0.0.1:\(fake.port)/", configuration: configuration) { _, _, _ in
        }
        #expect(!fake.requestHead.lowercased().contains("sec-websocket-extensions"))
    }

    @Test
    func serverBroadcastsPreEncodedMessageCompressingItOnce() async throws {
        let sockets = NIOLockedValueBox<[(NIOLoopBound<WebSocketLoopSocket>, any EventLoop)]>([])
        var configuration = WebSocketServerConfiguration()
        configuration.compression = .balanced
        configuration.shutdownTimeout = .seconds(2)
        let server = try await WebSocketServer.bind(
            host: "127.0.0.1",
            port: 0,
            configuration: configuration,
            handler: .eventLoop { _ in
                { event, socket in
                    if case .message = event {
                        let loop = MultiThreadedEventLoopGroup.currentEventLoop!
                        sockets.withLockedValue { $0.append((NIOLoopBound(socket, eventLoop: loop), loop)) }
                    }
                }
            }
        )
        defer { server.shutdown() }
        let port = server.localAddress.port!
        var raws: [RawSocket] = []
        for _ in 0..<3 {
            let raw = try await RawSocket.connect(port: port)
            _ = try await raw.handshake(extraHeader: Self.offer)
            try await raw.write(frame(opText, Array("join".utf8), masked: true))
            raws.append(raw)
        }
        defer { for raw in raws { raw.close() } }
        while sockets.withLockedValue({ $0.count }) < 3 { try await Task.sleep(for: .milliseconds(5)) }
        let text = String(repeating: "{\"price\": 42.0, \"symbol\": \"CNL\"} ", count: 50)
        let update = WebSocketPreEncodedMessage(.text(text))
        let all = sockets.withLockedValue { $0 }
        for (socket, loop) in all {
            // Each socket lives on its event loop.
            try await loop.submit { socket.value.send(update.message) }.get()
        }
        for raw in raws {
            let reply = try await raw.nextFrame()
            #expect(reply.rsv1)
            #expect(rawInflate(reply.payload) == Array(text.utf8))
        }
        #expect(update.encodingCount == 1)
    }

    @Test(arguments: [nil, PerMessageDeflateConfiguration.balanced])
    func clientGetsMessageThatArrivesWithTheResponseAndTheEnd(_ compression: PerMessageDeflateConfiguration?)
        async throws
    {
        // A 101, a text frame "8" and a close frame in one segment, then the connection
        // closes: as the Autobahn fuzzing server answers /getCaseCount.
        let fake = try await FakeServer.start(
            extensionsResponse: nil,
            afterResponse: [0x81, 0x01, 0x38, 0x88, 0x02, 0x03, 0xE8]
        )
        defer { fake.stop() }
        var configuration = WebSocketClientConfiguration()
        configuration.compression = compression
        let text = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(fake.port)/", configuration: configuration) {
            inbound,
            _,
            _ in
            for try await message in inbound.messages { return message.text }
            return nil
        }
        #expect(text == "8")
    }
}
