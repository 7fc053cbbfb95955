@testable import CanalWebSocket
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

/// Input that arrives while the pipeline is still switching from HTTP is kept aside
/// (`holdInput`) and must never be lost, even when the connection ends before the switch.
@Suite
struct HeldInputTests {
    /// Frames as a client would send them.
    private func clientFrames(_ messages: [WebSocketMessage]) throws -> ByteBuffer {
        var client = WebSocketConnection(role: .client)
        var bytes = ByteBuffer()
        for message in messages { try client.send(message) }
        while let output = client.nextOutput() {
            if case .bytes(var chunk) = output { bytes.writeBuffer(&chunk) }
        }
        return bytes
    }

    private final class Recorder {
        var events: [WebSocketEvent] = []
    }

    /// A server handler holding its input, in an embedded channel, recording its events.
    private func heldServerHandler(recording recorder: Recorder) throws -> (WebSocketChannelHandler, EmbeddedChannel) {
        let handler = WebSocketChannelHandler(
            connection: WebSocketConnection(role: .server),
            timeouts: WebSocketTimeouts(keepaliveInterval: nil),
            callback: { event, _ in recorder.events.append(event) }
        )
        handler.holdInput()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(handler)
        return (handler, channel)
    }

    @Test
    func heldMessagesReachTheApplicationWhenTheChannelGoesInactive() throws {
        let recorder = Recorder()
        let (_, channel) = try heldServerHandler(recording: recorder)
        try channel.writeInbound(try clientFrames([.text("first"), .binary([1, 2, 3])]))
        #expect(recorder.events.isEmpty, "held input must wait for releaseInput()")

        channel.pipeline.fireChannelInactive()

        #expect(recorder.events.count == 3, "\(recorder.events)")
        #expect(recorder.events.first == .message(.text("first")))
        #expect(recorder.events.dropFirst().first == .message(.binary([1, 2, 3])))
        guard case .closed(let status) = recorder.events.last else {
            Issue.record("no close event: \(recorder.events)")
            return
        }
        #expect(status.code == .abnormalClosure)
        #expect(!status.wasClean)
        _ = try? channel.finish()
    }

    @Test
    func heldMessagesAreDeliveredInOrderOnRelease() throws {
        let recorder = Recorder()
        let (handler, channel) = try heldServerHandler(recording: recorder)
        var frames = try clientFrames([.text("a"), .text("b")])
        let first = frames.readSlice(length: 3)!  // split inside the first frame
        try channel.writeInbound(first)
        try channel.writeInbound(frames)
        #expect(recorder.events.isEmpty)

        handler.releaseInput()

        #expect(recorder.events == [.message(.text("a")), .message(.text("b"))])
        _ = try? channel.finish()
    }
}

/// Output asked for while the HTTP handlers are leaving the pipeline must wait for
/// `releaseInput()`: NIOHTTP1's client decoder also sees writes and cannot take frames.
@Suite
struct HeldOutputTests {
    /// A client handler holding its input, in an embedded channel.
    private func heldHandler(keepalive: TimeAmount? = nil) throws -> (WebSocketChannelHandler, EmbeddedChannel) {
        let handler = WebSocketChannelHandler(
            connection: WebSocketConnection(role: .client, maskingKeys: { WebSocketMaskingKey(1, 2, 3, 4) }),
            timeouts: WebSocketTimeouts(keepaliveInterval: keepalive),
            callback: { _, _ in }
        )
        handler.holdInput()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(handler)
        return (handler, channel)
    }

    private func outbound(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
        return bytes
    }

    @Test
    func aKeepalivePingDueDuringTheSwitchWaitsForRelease() throws {
        let (handler, channel) = try heldHandler(keepalive: .milliseconds(10))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(25))
        #expect(try outbound(channel).isEmpty, "nothing may be written while input is held")

        handler.releaseInput()

        let written = try outbound(channel)
        #expect(written.first == 0x89, "a ping frame, FIN set: \(written)")
        _ = try? channel.finish()
    }

    @Test
    func aSendDuringTheSwitchIsWrittenOnReleaseAndItsPromiseCompletes() throws {
        let (handler, channel) = try heldHandler()
        let promise = channel.eventLoop.makePromise(of: Void.self)
        handler.send(.message(.text("early")), promise: promise)
        let completed = NIOLockedValueBox(false)
        promise.futureResult.whenSuccess { completed.withLockedValue { $0 = true } }
        #expect(try outbound(channel).isEmpty)
        #expect(!completed.withLockedValue { $0 })

        handler.releaseInput()

        let written = try outbound(channel)
        #expect(written.first == 0x81 && written.count == 2 + 4 + 5, "\(written)")
        #expect(completed.withLockedValue { $0 })
        _ = try? channel.finish()
    }

    @Test
    func aSendDuringTheSwitchFailsIfTheConnectionEndsFirst() throws {
        let (handler, channel) = try heldHandler()
        let promise = channel.eventLoop.makePromise(of: Void.self)
        handler.send(.message(.text("lost")), promise: promise)
        let failed = NIOLockedValueBox(false)
        promise.futureResult.whenFailure { _ in failed.withLockedValue { $0 = true } }

        channel.pipeline.fireChannelInactive()

        #expect(failed.withLockedValue { $0 })
        #expect(try outbound(channel).isEmpty)
        _ = try? channel.finish()
    }
}
