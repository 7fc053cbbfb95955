import CanalWebSocket
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// RFC 6455 §7.1.1: once both close frames are exchanged the server closes the TCP
/// connection first, without waiting for the client's FIN.
@Suite(.timeLimit(.minutes(1)))
struct ServerClosesFirstTests {
    /// Collects bytes and notes the server's FIN, but keeps its own side open.
    private final class HalfOpenCollector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let state = NIOLockedValueBox((bytes: [UInt8](), sawEOF: false))

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            state.withLockedValue { $0.bytes += buffer.readableBytesView }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case ChannelEvent.inputClosed = event { state.withLockedValue { $0.sawEOF = true } }
        }
    }

    @Test
    func afterTheClosingHandshakeTheServerClosesWithoutWaitingForTheClient() async throws {
        var configuration = WebSocketServerConfiguration.testing
        configuration.timeouts.closeTimeout = .seconds(30)  // far beyond this test's waits
        let closed = NIOLockedValueBox<WebSocketCloseStatus?>(nil)
        let handler = WebSocketServerHandler.eventLoop { _ in
            { event, _ in
                if case .closed(let status) = event { closed.withLockedValue { $0 = status } }
            }
        }
        try await withServer(configuration: configuration, handler: handler) { server in
            let collector = HalfOpenCollector()
            let channel = try await ClientBootstrap(group: rawPeerGroup)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
                }
                .connect(host: "127.0.0.1", port: server.port)
                .get()
            defer { channel.close(promise: nil) }
            let request = Array(upgradeRequest().utf8) + RawFrame.close(code: 1000, reason: "done")
            try await channel.writeAndFlush(ByteBuffer(bytes: request)).get()

            let deadline = ContinuousClock.now + .seconds(20)
            while closed.withLockedValue({ $0 }) == nil || !collector.state.withLockedValue({ $0.sawEOF }) {
                guard ContinuousClock.now < deadline else { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            // Our side is still open: only the server can have ended the connection.
            #expect(channel.isActive)
            #expect(collector.state.withLockedValue { $0.sawEOF }, "no FIN from the server")
            let status = closed.withLockedValue { $0 }
            #expect(status?.code == .normalClosure)
            #expect(status?.wasClean == true)
            let received = collector.state.withLockedValue { $0.bytes }
            let response = try #require(HTTPResponse.parse(received))
            #expect(response.status == 101)
            let frames = RawFrame.parseAll(Array(received.dropFirst(response.length))).frames
            #expect(frames.map(\.closeCode) == [1000], "the close reply arrives before the FIN")
        }
    }
}
