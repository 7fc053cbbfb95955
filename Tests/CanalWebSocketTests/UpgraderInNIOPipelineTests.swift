import CanalWebSocket
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// `WebSocketUpgrader` used from an application's own NIO server, built the usual way with
/// `configureHTTPServerPipeline()`: the upgrade must leave no HTTP handler behind.
@Suite(.timeLimit(.minutes(1)))
struct UpgraderInNIOPipelineTests {
    /// The application's HTTP handler: upgrades `/ws`, answers 404 otherwise.
    private final class AppHandler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let upgrader: WebSocketUpgrader
        var accepted: WebSocketUpgrader.Accepted?

        init(upgrader: WebSocketUpgrader) { self.upgrader = upgrader }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                if case .accepted(let accepted) = upgrader.evaluate(head, remoteAddress: context.remoteAddress) {
                    self.accepted = accepted
                    return
                }
                let headers = HTTPHeaders([("Content-Length", "0")])
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .notFound, headers: headers))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case .body:
                break
            case .end:
                if let accepted { _ = try? upgrader.upgrade(accepted, context: context) }
            }
        }
    }

    /// An application's own NIO server: `configureHTTPServerPipeline()` and `AppHandler`,
    /// with NIO's defaults (no remote half-closure); `readBufferSize` fixes the size of
    /// each read.
    private func startAppServer(readBufferSize: Int? = nil) async throws -> any Channel {
        let upgrader = WebSocketUpgrader(handler: eventLoopEcho)
        var bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        if let readBufferSize {
            bootstrap = bootstrap.childChannelOption(
                .recvAllocator,
                value: FixedSizeRecvByteBufferAllocator(capacity: readBufferSize)
            )
        }
        return try await bootstrap
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AppHandler(upgrader: upgrader))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    @Test
    func echoThroughAConfigureHTTPServerPipelineServer() async throws {
        let server = try await startAppServer()
        defer { server.close(promise: nil) }
        let port = server.localAddress!.port!
        let replies = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(port)/ws") { inbound, outbound, _ in
            var replies: [WebSocketMessage] = []
            var messages = inbound.messages.makeAsyncIterator()
            for message: WebSocketMessage in [.text("one"), .binary([1, 2, 3])] {
                try await outbound.send(message)
                if let reply = try await messages.next() { replies.append(reply) }
            }
            return replies
        }
        #expect(replies == [.text("one"), .binary([1, 2, 3])])
    }

    /// NIO closes a channel without remote half-closure (the `ServerBootstrap` default)
    /// right after the read burst in which the peer's FIN arrived. Replies to frames read
    /// in that same burst must be flushed before that, not left for a later flush.
    @Test
    func replyToAFrameThatArrivesWithThePeersFINIsWritten() async throws {
        // The frame fills the read buffer exactly, so NIO reads again at once and finds the
        // FIN in the same burst.
        let frame = RawFrame.text(String(repeating: "x", count: 58))
        #expect(frame.count == 64)
        let server = try await startAppServer(readBufferSize: frame.count)
        defer { server.close(promise: nil) }
        let port = server.localAddress!.port!

        for _ in 0..<20 {
            let client = try await RawClient.connect(port: port)
            defer { client.close() }
            let response = try await client.handshake(path: "/ws")
            try await client.channel.writeAndFlush(ByteBuffer(bytes: frame)).get()
            try await client.channel.close(mode: .output).get()
            try await client.waitForClose()
            let echoed = client.frames(after: response.length).frames
            #expect(echoed.first == RawFrame(opcode: 0x1, payload: Array(repeating: UInt8(ascii: "x"), count: 58)))
        }
    }
}
