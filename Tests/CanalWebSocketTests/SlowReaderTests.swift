import CanalWebSocket
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// Peers that read slowly or not at all: a pong must not wait behind a whole fragmented
/// message (RFC 6455 §5.4, `outboundFragmentSize`), and what a server queues for a peer
/// that does not read is bounded (`maxUnreadOutput`, and no reading while the channel is full).
@Suite(.timeLimit(.minutes(1)))
struct SlowReaderTests {
    /// A client that reads only when asked, one read of at most 64 KiB at a time, with a
    /// small receive buffer, and scans the server's frames as they arrive.
    final class SlowReader: Sendable {
        struct Scan {
            var bytes: [UInt8] = []
            var headEnd: Int?
            var offset = 0
            /// Payload bytes of data frames seen so far, and that count when the pong came.
            var dataBytes = 0
            var dataBytesBeforePong: Int?
            var messageDone = false
        }

        private final class Reader: ChannelInboundHandler, Sendable {
            typealias InboundIn = ByteBuffer
            let scan: NIOLockedValueBox<Scan>
            init(_ scan: NIOLockedValueBox<Scan>) { self.scan = scan }

            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                let buffer = unwrapInboundIn(data)
                scan.withLockedValue { scan in
                    scan.bytes.append(contentsOf: buffer.readableBytesView)
                    Self.advance(&scan)
                }
            }

            /// Walks the unmasked server frames after the 101 (64-bit lengths included).
            static func advance(_ scan: inout Scan) {
                if scan.headEnd == nil {
                    let separator: [UInt8] = [13, 10, 13, 10]
                    guard let end = scan.bytes.indices.first(where: { scan.bytes[$0...].starts(with: separator) })
                    else { return }
                    scan.headEnd = end + 4
                    scan.offset = end + 4
                }
                while scan.bytes.count - scan.offset >= 2 {
                    let first = scan.bytes[scan.offset]
                    var length = Int(scan.bytes[scan.offset + 1] & 0x7F)
                    var header = 2
                    if length == 126 {
                        guard scan.bytes.count - scan.offset >= 4 else { return }
                        length = Int(scan.bytes[scan.offset + 2]) << 8 | Int(scan.bytes[scan.offset + 3])
                        header = 4
                    } else if length == 127 {
                        guard scan.bytes.count - scan.offset >= 10 else { return }
                        length = scan.bytes[(scan.offset + 2)..<(scan.offset + 10)].reduce(0) { $0 << 8 | Int($1) }
                        header = 10
                    }
                    guard scan.bytes.count - scan.offset >= header + length else { return }
                    switch first & 0x0F {
                    case 0x0, 0x1, 0x2:
                        scan.dataBytes += length
                        if first & 0x80 != 0 { scan.messageDone = true }
                    case 0xA:
                        if scan.dataBytesBeforePong == nil { scan.dataBytesBeforePong = scan.dataBytes }
                    default:
                        break
                    }
                    scan.offset += header + length
                }
                // Keep memory flat: drop what was scanned.
                if scan.offset > 1 << 20 {
                    scan.bytes.removeFirst(scan.offset)
                    scan.offset = 0
                }
            }
        }

        let channel: any Channel
        let scan: NIOLockedValueBox<Scan>

        private init(channel: any Channel, scan: NIOLockedValueBox<Scan>) {
            self.channel = channel
            self.scan = scan
        }

        static func connect(port: Int) async throws -> SlowReader {
            let scan = NIOLockedValueBox(Scan())
            let channel = try await withTimeout(.seconds(5), "slow reader connect") {
                try await ClientBootstrap(group: rawPeerGroup)
                    .channelOption(.autoRead, value: false)
                    .channelOption(.socketOption(.so_rcvbuf), value: 16 * 1024)
                    .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 64 * 1024))
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(Reader(scan))
                        }
                    }
                    .connect(host: "127.0.0.1", port: port)
                    .get()
            }
            return SlowReader(channel: channel, scan: scan)
        }

        func write(_ bytes: [UInt8]) async throws {
            try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
        }

        /// Asks for one more read and waits a moment for it.
        func readOnce() async throws {
            channel.read()
            try await Task.sleep(for: .milliseconds(1))
        }

        var state: Scan { scan.withLockedValue { $0 } }
    }

    @Test(arguments: ["eventLoop", "async"])
    func serverSendingAHugeFragmentedMessageToASlowReaderAnswersItsPingBetweenFragments(handlerKind: String) async throws {
        let size = 32 << 20
        var configuration = WebSocketServerConfiguration.testing
        configuration.webSocket.outboundFragmentSize = 16 * 1024
        configuration.timeouts.keepaliveInterval = nil
        let handler: WebSocketServerHandler
        if handlerKind == "async" {
            handler = .async { inbound, outbound, _ in
                for try await _ in inbound.messages {
                    try await outbound.send(binary: ByteBuffer(repeating: 0x5A, count: size))
                }
            }
        } else {
            handler = .eventLoop { _ in
                { event, socket in
                    if case .message = event { socket.send(.binary(ByteBuffer(repeating: 0x5A, count: size))) }
                }
            }
        }
        try await withServer(configuration: configuration, handler: handler, within: .seconds(50)) { server in
            let reader = try await SlowReader.connect(port: server.port)
            defer { reader.channel.close(promise: nil) }
            try await reader.write(Array(upgradeRequest().utf8) + RawFrame.text("go"))
            // Read the start of the message, then stop reading while the server still sends.
            while reader.state.dataBytes < 256 * 1024 { try await reader.readOnce() }
            try await Task.sleep(for: .milliseconds(200))
            try await reader.write(RawFrame.encode(opcode: 0x9, payload: Array("are you there".utf8)))
            try await Task.sleep(for: .milliseconds(200))
            // Now read on until the pong.
            let deadline = ContinuousClock.now + .seconds(40)
            while reader.state.dataBytesBeforePong == nil, !reader.state.messageDone, ContinuousClock.now < deadline {
                try await reader.readOnce()
            }
            let before = try #require(reader.state.dataBytesBeforePong, "no pong before the end of the message")
            // What sat in socket buffers and the channel's 64 KiB when the ping arrived, not
            // the 32 MiB message.
            #expect(before < 8 << 20, "the pong came after \(before) bytes of the message")
            while !reader.state.messageDone, ContinuousClock.now < deadline { try await reader.readOnce() }
            #expect(reader.state.dataBytes == size)
        }
    }

    @Test
    func serverPushingToAPeerThatNeverReadsDropsItPastMaxUnreadOutput() async throws {
        var configuration = WebSocketServerConfiguration.testing
        configuration.webSocket.maxUnreadOutput = 1 << 20
        configuration.timeouts.keepaliveInterval = nil
        let closed = Recorder<WebSocketCloseStatus?>(nil)
        let handler = WebSocketServerHandler.eventLoop { _ in
            var task: RepeatedTask?
            return { event, socket in
                switch event {
                case .message:
                    // Pushes 64 KiB every millisecond, never looking at writability.
                    guard task == nil, let loop = socket.channel?.eventLoop else { return }
                    let bound = NIOLoopBound(socket, eventLoop: loop)
                    task = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(1)) { _ in
                        bound.value.send(.binary(ByteBuffer(repeating: 1, count: 64 * 1024)))
                    }
                case .closed(let status):
                    task?.cancel()
                    closed.update { $0 = status }
                default:
                    break
                }
            }
        }
        try await withServer(configuration: configuration, handler: handler) { server in
            let reader = try await SlowReader.connect(port: server.port)
            defer { reader.channel.close(promise: nil) }
            try await reader.write(Array(upgradeRequest().utf8) + RawFrame.text("go"))
            try await reader.readOnce()
            try await waitUntil("slow reader dropped", within: .seconds(10)) { closed.value != nil }
            #expect(closed.value?.error == .slowReader)
        }
    }

    @Test
    func echoServerStopsReadingFromAPeerThatDoesNotReadItsEchoes() async throws {
        // An event-loop echo with no bound of its own: the server must stop reading, so the
        // peer's writes stall instead of the server queueing every echo.
        var configuration = WebSocketServerConfiguration.testing
        configuration.webSocket.maxUnreadOutput = nil
        configuration.timeouts.keepaliveInterval = nil
        try await withServer(configuration: configuration, handler: eventLoopEcho) { server in
            let reader = try await SlowReader.connect(port: server.port)
            defer { reader.channel.close(promise: nil) }
            try await reader.write(Array(upgradeRequest().utf8))
            while reader.state.headEnd == nil { try await reader.readOnce() }
            let frame = RawFrame.encode(opcode: 0x2, payload: [UInt8](repeating: 7, count: 64 * 1024))
            // Write until the kernel stops taking more: that must happen long before 256 MiB.
            var sent = 0
            var stalled = false
            while sent < 256 << 20, !stalled {
                let written: EventLoopFuture<Void> = reader.channel.writeAndFlush(ByteBuffer(bytes: frame))
                do {
                    try await withTimeout(.seconds(2), "one write") { try await written.get() }
                    sent += frame.count
                } catch is TimeoutError {
                    stalled = true
                }
            }
            #expect(stalled, "the server read \(sent) bytes from a peer that never read its echoes")
            #expect(sent < 64 << 20)
        }
    }
}
