@testable import CanalWebSocket
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

/// Replies that event-loop callbacks send while one read burst is delivered leave in
/// one buffer, in the order they were sent, behind the core's own output.
@Suite
struct CallbackRepliesTests {
    private final class Recorder {
        var events: [WebSocketEvent] = []
    }

    private func clientFrames(_ messages: [WebSocketMessage], pingAfterFirst: Bool = false) throws -> ByteBuffer {
        var client = WebSocketConnection(role: .client)
        var bytes = ByteBuffer()
        for (index, message) in messages.enumerated() {
            try client.send(message)
            if pingAfterFirst, index == 0 { try client.sendPing(ByteBuffer(string: "p")) }
        }
        while let output = client.nextOutput() {
            if case .bytes(var chunk) = output { bytes.writeBuffer(&chunk) }
        }
        return bytes
    }

    /// Each buffer the channel wrote, as the events a client reads from it.
    private func writes(_ channel: EmbeddedChannel) throws -> [[WebSocketEvent]] {
        var client = WebSocketConnection(role: .client)
        var result: [[WebSocketEvent]] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            client.receive(buffer)
            var events: [WebSocketEvent] = []
            while let event = client.nextEvent() { events.append(event) }
            result.append(events)
        }
        return result
    }

    private func echoChannel(
        loop: EmbeddedEventLoop = EmbeddedEventLoop(),
        _ reply: @escaping (WebSocketMessage, WebSocketLoopSocket) -> Void
    ) throws -> EmbeddedChannel {
        let handler = WebSocketChannelHandler(
            connection: WebSocketConnection(role: .server),
            timeouts: WebSocketTimeouts(keepaliveInterval: nil),
            callback: { event, socket in
                if case .message(let message) = event { reply(message, socket) }
            }
        )
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandler(handler)
        return channel
    }

    @Test
    func repliesToOneReadLeaveInOneWrite() throws {
        let channel = try echoChannel { message, socket in socket.send(message) }
        try channel.writeInbound(try clientFrames([.text("one"), .binary([2]), .text("three")]))

        let written = try writes(channel)
        #expect(written == [[.message(.text("one")), .message(.binary([2])), .message(.text("three"))]])
        _ = try? channel.finish()
    }

    @Test
    func eachReadGetsItsOwnWrite() throws {
        let channel = try echoChannel { message, socket in socket.send(message) }
        try channel.writeInbound(try clientFrames([.text("a")]))
        try channel.writeInbound(try clientFrames([.text("b")]))

        #expect(try writes(channel) == [[.message(.text("a"))], [.message(.text("b"))]])
        _ = try? channel.finish()
    }

    @Test
    func aPongTheCoreAnswersStaysBetweenTheRepliesItCameBetween() throws {
        let channel = try echoChannel { message, socket in socket.send(message) }
        try channel.writeInbound(try clientFrames([.text("before"), .text("after")], pingAfterFirst: true))

        let written = try writes(channel).flatMap { $0 }
        #expect(written == [.message(.text("before")), .pong(ByteBuffer(string: "p")), .message(.text("after"))])
        _ = try? channel.finish()
    }

    @Test
    func aReplyWithAPromiseKeepsItsPlaceAndCompletesWhenWritten() throws {
        let completed = NIOLockedValueBox(false)
        let loop = EmbeddedEventLoop()
        let channel = try echoChannel(loop: loop) { message, socket in
            if message == .text("second") {
                let promise = loop.makePromise(of: Void.self)
                promise.futureResult.whenSuccess { completed.withLockedValue { $0 = true } }
                socket.send(message, promise: promise)
            } else {
                socket.send(message)
            }
        }
        try channel.writeInbound(try clientFrames([.text("first"), .text("second"), .text("third")]))

        #expect(completed.withLockedValue { $0 }, "flushed at the end of the read, so written")
        let written: [WebSocketEvent] = try writes(channel).flatMap { $0 }
        #expect(written == [.message(.text("first")), .message(.text("second")), .message(.text("third"))])
        _ = try? channel.finish()
    }

    @Test
    func aCloseSentFromACallbackFollowsTheRepliesBeforeIt() throws {
        let channel = try echoChannel { message, socket in
            socket.send(message)
            if message == .text("last") { socket.close(code: .normalClosure, reason: "done") }
        }
        try channel.writeInbound(try clientFrames([.text("x"), .text("last")]))

        let written = try writes(channel).flatMap { $0 }
        #expect(written.prefix(3) == [.message(.text("x")), .message(.text("last")), .closeReceived(code: .normalClosure, reason: "done")])
        _ = try? channel.finish()
    }

    @Test
    func handlerWhoseCallbackKeepsItsSocketIsFreedAfterTheConnectionCloses() throws {
        // `.eventLoopWithSocket` callbacks keep the socket, which holds the handler: the
        // handler must let go of the callback at the end (LeakSanitizer found three such
        // handlers left after the suite).
        weak var weakHandler: WebSocketChannelHandler?
        do {
            let handler = WebSocketChannelHandler(
                connection: WebSocketConnection(role: .server),
                timeouts: WebSocketTimeouts(keepaliveInterval: nil)
            )
            let socket = WebSocketLoopSocket(handler: handler)
            handler.setCallback { event, _ in
                if case .message(let message) = event { socket.send(message) }
            }
            weakHandler = handler
            let channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.writeInbound(try clientFrames([.text("hello")]))
            channel.pipeline.fireChannelInactive()
            _ = try? channel.finish()
        }
        #expect(weakHandler == nil)
    }
}
