@testable import CanalWebSocket
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// Async handlers run on their channel's event loop unless told otherwise, so that reading
/// and sending do not switch threads per message, and the sends of one turn leave together.
@Suite
struct AsyncHandlerOnEventLoopTests {
    /// Where an async handler found itself: at its start and after each message it read.
    private static func recordingEcho(_ onLoop: Recorder<[Bool]>) -> WebSocketServerHandler {
        .async { inbound, outbound, context in
            onLoop.update { $0.append(context.channel.eventLoop.inEventLoop) }
            for try await message in inbound.messages {
                onLoop.update { $0.append(context.channel.eventLoop.inEventLoop) }
                try await outbound.send(message)
            }
        }
    }

    private static func echoThree(port: Int) async throws -> [String] {
        try await WebSocketClient.connect(to: "ws://127.0.0.1:\(port)/") { inbound, outbound, _ in
            var iterator = inbound.makeAsyncIterator()
            var echoed: [String] = []
            for text in ["one", "two", "three"] {
                try await outbound.send(text: text)
                if let reply = try await nextMessage(&iterator)?.text { echoed.append(reply) }
            }
            return echoed
        }
    }

    @Test
    func serverAsyncHandlerByDefaultRunsOnItsChannelsEventLoopAtStartAndAfterEveryRead() async throws {
        let onLoop = Recorder<[Bool]>([])
        try await withServer(handler: Self.recordingEcho(onLoop)) { server in
            let echoed = try await Self.echoThree(port: server.port)
            #expect(echoed == ["one", "two", "three"])
        }
        #expect(onLoop.value.count == 4, "\(onLoop.value)")
        #expect(onLoop.value.allSatisfy { $0 }, "\(onLoop.value)")
    }

    @Test
    func serverAsyncHandlerTurnedOffTheEventLoopRunsOnTheGlobalExecutorAndStillEchoes() async throws {
        let onLoop = Recorder<[Bool]>([])
        var configuration = WebSocketServerConfiguration.testing
        configuration.runsAsyncHandlersOnEventLoop = false
        try await withServer(configuration: configuration, handler: Self.recordingEcho(onLoop)) { server in
            let echoed = try await Self.echoThree(port: server.port)
            #expect(echoed == ["one", "two", "three"])
        }
        #expect(onLoop.value.count == 4, "\(onLoop.value)")
        #expect(onLoop.value.allSatisfy { !$0 }, "\(onLoop.value)")
    }

    @Test
    func clientBodyRunsOnItsChannelsEventLoopByDefaultAndOffItWhenTurnedOff() async throws {
        try await withServer(handler: asyncEcho) { server in
            for runsOnEventLoop in [true, false] {
                var configuration = WebSocketClientConfiguration()
                configuration.runsOnEventLoop = runsOnEventLoop
                let seen = try await WebSocketClient.connect(to: server.url, configuration: configuration) {
                    inbound, outbound, context in
                    var iterator = inbound.makeAsyncIterator()
                    var seen = [context.channel.eventLoop.inEventLoop]
                    try await outbound.send(text: "ping")
                    _ = try await nextMessage(&iterator)
                    seen.append(context.channel.eventLoop.inEventLoop)
                    return seen
                }
                #expect(seen == [runsOnEventLoop, runsOnEventLoop])
            }
        }
    }

    /// Counts the flushes that reach the socket.
    private final class FlushCounter: ChannelOutboundHandler {
        typealias OutboundIn = Any
        let flushes: NIOLockedValueBox<Int>

        init(_ flushes: NIOLockedValueBox<Int>) {
            self.flushes = flushes
        }

        func flush(context: ChannelHandlerContext) {
            flushes.withLockedValue { $0 += 1 }
            context.flush()
        }
    }

    @Test
    func serverAsyncEchoOfTenFramesReadTogetherLeavesInOneFlushInOrder() async throws {
        let flushes = NIOLockedValueBox(0)
        let ready = Recorder(false)
        let handler = WebSocketServerHandler.async { inbound, outbound, context in
            let channel = context.channel
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(FlushCounter(flushes), position: .first)
            }.get()
            ready.update { $0 = true }
            for try await message in inbound.messages { try await outbound.send(message) }
        }
        try await withServer(handler: handler) { server in
            let client = try await RawClient.connect(port: server.port)
            defer { client.close() }
            let response = try await client.handshake()
            try await waitUntil("handler ready") { ready.value }
            let start = flushes.withLockedValue { $0 }
            let texts = (0..<10).map { "message \($0)" }
            try await client.write(texts.flatMap { RawFrame.text($0) })
            let offset = response.length
            try await client.wait("ten echoes") { bytes, _ in
                RawFrame.parseAll(Array(bytes.dropFirst(offset))).frames.count >= 10
            }
            let echoed = client.frames(after: offset).frames.map { String(decoding: $0.payload, as: UTF8.self) }
            #expect(echoed == texts)
            let used = flushes.withLockedValue { $0 } - start
            #expect(used == 1, "\(used) flushes for 10 echoes of one read")
        }
    }
}
