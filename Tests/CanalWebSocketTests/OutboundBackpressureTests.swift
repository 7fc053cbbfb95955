@testable import CanalWebSocket
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// An async handler that sends faster than its peer reads must stall with a bounded amount
/// queued, then deliver everything, in order, once the peer reads again.
@Suite
struct OutboundBackpressureTests {
    private struct SenderProgress: Sendable {
        var sent = 0
        var maxPending = 0
        var finished = false
        var outbound: WebSocketOutbound?
        var channel: (any Channel)?
    }

    @Test
    func asyncServerStallsWithBoundedPendingBytesWhileTheClientDoesNotRead() async throws {
        let messageSize = 64 * 1024
        // About 20 MB: several times what the loopback socket buffers hold (4 MB of send
        // buffer at most here, and the client's small receive buffer).
        let total = 300
        let limits = WebSocketOutboundBufferLimits()
        var configuration = WebSocketServerConfiguration.testing
        configuration.outboundBuffer = limits
        let progress = Recorder(SenderProgress())
        let handler = WebSocketServerHandler.async { _, outbound, context in
            progress.update {
                $0.outbound = outbound
                $0.channel = context.channel
            }
            let template = patternBytes(messageSize)
            // A tight loop, as an application streaming a file or a feed would write it.
            for index in 0..<total {
                var chunk = template
                chunk.setInteger(UInt32(index), at: chunk.readerIndex)
                try await outbound.send(binary: chunk)
                let pending = outbound.pendingBytes
                progress.update {
                    $0.sent += 1
                    $0.maxPending = max($0.maxPending, pending)
                }
            }
            progress.update { $0.finished = true }
        }

        try await withServer(configuration: configuration, handler: handler, within: .seconds(90)) { server in
            let client = try await NonReadingClient.connect(port: server.port)
            defer { client.close() }
            try await client.handshake()

            // The client reads nothing more: the sends must stop making progress.
            var last = -1
            var stableSince = ContinuousClock.now
            while ContinuousClock.now - stableSince < .milliseconds(700) {
                let now = progress.value.sent
                if now != last {
                    last = now
                    stableSince = .now
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let stalled = progress.value
            let bound = limits.highWaterMark + messageSize
            let pendingNow = stalled.outbound?.pendingBytes ?? -1
            let buffered = try await value(
                of: stalled.channel!.getOption(.bufferedWritableBytes),
                within: .seconds(20),
                "buffered bytes"
            )
            let measured =
                "\(stalled.sent) of \(total) sends done, \(pendingNow) bytes pending (at most \(stalled.maxPending)), "
                + "\(buffered) bytes in the channel"
            #expect(stalled.sent < total, "no stall: \(measured)")
            #expect(!stalled.finished, "\(measured)")
            #expect(stalled.outbound != nil)
            #expect((0...bound).contains(pendingNow), "\(measured)")
            #expect(stalled.maxPending <= bound, "\(measured)")
            // NIO's own count, independent of ours: frame headers come on top of the payloads.
            #expect(buffered <= bound + 1024, "\(measured)")

            // Reading again lets every send complete, and every message arrives in order.
            client.resume()
            try await waitUntil("all sends done", within: .seconds(60)) { progress.value.finished }
            try await waitUntil("all messages received", within: .seconds(60)) {
                client.received.indices.count >= total
            }
            let received = client.received
            #expect(received.indices == Array(0..<UInt32(total)))
            #expect(received.malformed == 0)
            #expect(received.otherFrames <= 1, "at most the closing frame")
        }
    }

    @Test
    func asyncServerAndClientUseTheConfiguredLimits() async throws {
        var serverConfiguration = WebSocketServerConfiguration.testing
        serverConfiguration.outboundBuffer = WebSocketOutboundBufferLimits(highWaterMark: 4096, lowWaterMark: 1024)
        let serverMarks = Recorder<[Int]?>(nil)
        let handler = WebSocketServerHandler.async { inbound, outbound, _ in
            serverMarks.update { $0 = outbound.gate.map { [$0.highWaterMark, $0.lowWaterMark] } }
            for try await message in inbound.messages { try await outbound.send(message) }
        }
        try await withServer(configuration: serverConfiguration, handler: handler) { server in
            var clientConfiguration = WebSocketClientConfiguration()
            clientConfiguration.outboundBuffer = WebSocketOutboundBufferLimits(highWaterMark: 8192, lowWaterMark: 0)
            let clientMarks = try await WebSocketClient.connect(to: server.url, configuration: clientConfiguration) {
                inbound, outbound, _ in
                try await outbound.send(text: "hello")
                var iterator = inbound.makeAsyncIterator()
                let echo = try await nextMessage(&iterator)
                #expect(echo == .text("hello"))
                #expect(outbound.pendingBytes == 0, "written, so released")
                return outbound.gate.map { [$0.highWaterMark, $0.lowWaterMark] }
            }
            #expect(clientMarks == [8192, 0])
        }
        #expect(serverMarks.value == [4096, 1024])
    }
}

// MARK: - A client that stops reading

/// A TCP client that reads the 101, then nothing until `resume()`, and then checks the
/// binary frames that follow: each carries its index in its first four bytes, then
/// `patternBytes`.
final class NonReadingClient: Sendable {
    struct Received: Sendable {
        var headDone = false
        var head: [UInt8] = []
        /// The indices of the binary messages, in arrival order.
        var indices: [UInt32] = []
        /// Binary messages whose length or contents were wrong.
        var malformed = 0
        /// Frames other than binary ones (the closing handshake).
        var otherFrames = 0
    }

    private final class Parser: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let received: NIOLockedValueBox<Received>
        let expectedTail: ByteBuffer
        var buffer = ByteBuffer()

        init(_ received: NIOLockedValueBox<Received>, messageSize: Int) {
            self.received = received
            let pattern = patternBytes(messageSize)
            expectedTail = pattern.getSlice(at: pattern.readerIndex + 4, length: messageSize - 4)!
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            buffer.writeBuffer(&bytes)
            if !received.withLockedValue({ $0.headDone }) {
                guard let end = buffer.readableBytesView.firstRange(of: [13, 10, 13, 10]) else { return }
                let head = buffer.readBytes(length: end.upperBound - buffer.readerIndex)!
                received.withLockedValue {
                    $0.head = head
                    $0.headDone = true
                }
            }
            parseFrames()
            buffer.discardReadBytes()
        }

        /// RFC 6455 §5.2, for unmasked frames from a server.
        private func parseFrames() {
            while true {
                let start = buffer.readerIndex
                guard let first = buffer.getInteger(at: start, as: UInt8.self),
                    let second = buffer.getInteger(at: start + 1, as: UInt8.self)
                else { return }
                var length = Int(second & 0x7F)
                var headerLength = 2
                if length == 126 {
                    guard let value = buffer.getInteger(at: start + 2, as: UInt16.self) else { return }
                    length = Int(value)
                    headerLength = 4
                } else if length == 127 {
                    guard let value = buffer.getInteger(at: start + 2, as: UInt64.self) else { return }
                    length = Int(value)
                    headerLength = 10
                }
                guard buffer.readableBytes >= headerLength + length else { return }
                buffer.moveReaderIndex(forwardBy: headerLength)
                let payload = buffer.readSlice(length: length)!
                received.withLockedValue { received in
                    guard first & 0x0F == 0x2 else {
                        received.otherFrames += 1
                        return
                    }
                    guard length == expectedTail.readableBytes + 4,
                        let index = payload.getInteger(at: payload.readerIndex, as: UInt32.self),
                        payload.getSlice(at: payload.readerIndex + 4, length: length - 4) == expectedTail
                    else {
                        received.malformed += 1
                        return
                    }
                    received.indices.append(index)
                }
            }
        }
    }

    let channel: any Channel
    private let state: NIOLockedValueBox<Received>

    private init(channel: any Channel, state: NIOLockedValueBox<Received>) {
        self.channel = channel
        self.state = state
    }

    /// Connects to 127.0.0.1:`port`, with reading under the test's control.
    static func connect(port: Int, messageSize: Int = 64 * 1024) async throws -> NonReadingClient {
        let state = NIOLockedValueBox(Received())
        let channel = try await withTimeout(.seconds(5), "connect") {
            try await ClientBootstrap(group: rawPeerGroup)
                .channelOption(.autoRead, value: false)
                // A small receive buffer, so that the stall comes soon.
                .channelOption(.socketOption(.so_rcvbuf), value: 64 * 1024)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(Parser(state, messageSize: messageSize))
                    }
                }
                .connect(host: "127.0.0.1", port: port)
                .get()
        }
        return NonReadingClient(channel: channel, state: state)
    }

    var received: Received { state.withLockedValue { $0 } }

    /// Sends a valid upgrade request and reads, one socket read at a time, until the 101.
    func handshake() async throws {
        let channel = self.channel
        try await withTimeout(.seconds(5), "upgrade request") {
            try await channel.writeAndFlush(ByteBuffer(string: upgradeRequest())).get()
        }
        let state = self.state
        try await waitUntil("the 101") {
            channel.read()
            return state.withLockedValue { $0.headDone }
        }
        let head = String(decoding: received.head, as: UTF8.self)
        #expect(head.hasPrefix("HTTP/1.1 101"), "\(head)")
    }

    /// Reads everything from now on.
    func resume() {
        let channel = self.channel
        channel.setOption(.autoRead, value: true).whenSuccess { channel.read() }
    }

    func close() {
        channel.close(promise: nil)
    }
}
