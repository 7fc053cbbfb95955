import NIOCore
import Testing

@testable import CanalWebSocketCore

/// The extension hook (RFC 6455 §5.2, §9): RSV1 is allowed only when a negotiated extension
/// claims it, only on the first frame of a message (RFC 7692 §6), and the extension's output is
/// what gets validated and delivered.
@Suite("§9 extension hook")
struct ExtensionHookTests {
    /// A fresh extension for every endpoint `feed` creates.
    static func marker() -> [any WebSocketExtension] { [MarkerExtension()] }

    @Test
    func serverWithExtensionReceivesRSV1TextDeliversTheDecodedMessage() {
        let input = clientFrame(.text, [0x00] + utf8("Hello"), rsv: 0x40)
        let transcript = feed(input, to: .server, extensions: Self.marker)
        #expect(transcript.events == [.message(.text("Hello"))])
        #expect(transcript.sent == [])
    }

    @Test
    func serverWithExtensionDecodesEachFrameOfACompressedMessageWithTheRemainingLimit() {
        let codec = MarkerExtension()
        var connection = makeConnection(
            .server,
            configuration: WebSocketConfiguration(maxMessageSize: 1000),
            extensions: [codec]
        )
        connection.receive(
            clientFrame(.binary, [0x00, 1, 2, 3], fin: false, rsv: 0x40) + clientFrame(.continuation, [0x00, 4])
        )
        #expect(connection.drainEvents() == [.message(.binary([1, 2, 3, 4]))])
        #expect(codec.decodedFrames.map { $0.payload } == [[0x00, 1, 2, 3], [0x00, 4]])
        #expect(codec.decodedFrames.map { $0.isFinal } == [false, true])
        #expect(codec.decodedFrames.map { $0.limit } == [1000, 997])
    }

    @Test
    func serverWithExtensionReceivesUncompressedMessageWithoutDecoding() {
        let codec = MarkerExtension()
        var connection = makeConnection(.server, extensions: [codec])
        connection.receive(clientFrame(.text, [0x00] + utf8("raw")))
        #expect(connection.drainEvents() == [.message(.text("\0raw"))])
        #expect(codec.decodedFrames.isEmpty)
    }

    @Test
    func serverWithoutExtensionReceivesRSV1FailsWith1002() {
        expectFailure(clientFrame(.text, [0x00] + utf8("Hello"), rsv: 0x40), to: .server, code: 1002, .reservedBitsSet)
    }

    @Test(arguments: [0x20, 0x10, 0x60] as [UInt8])
    func serverWithExtensionReceivesOtherReservedBitsFailsWith1002(_ rsv: UInt8) {
        expectFailure(
            clientFrame(.binary, [0x00, 1], rsv: rsv),
            to: .server,
            code: 1002,
            .reservedBitsSet,
            extensions: Self.marker
        )
    }

    @Test
    func serverWithExtensionReceivesRSV1OnContinuationFailsWith1002() {
        // RFC 7692 §6: RSV1 is set on the first frame of a message only.
        expectFailure(
            clientFrame(.binary, [0x00, 1], fin: false, rsv: 0x40) + clientFrame(.continuation, [0x00, 2], rsv: 0x40),
            to: .server,
            code: 1002,
            .reservedBitsSet,
            extensions: Self.marker
        )
    }

    @Test(arguments: [WebSocketOpcode.ping, .pong, .close])
    func serverWithExtensionReceivesRSV1OnControlFrameFailsWith1002(_ opcode: WebSocketOpcode) {
        expectFailure(
            clientFrame(opcode, closeBody(1000), rsv: 0x40),
            to: .server,
            code: 1002,
            .reservedBitsSet,
            extensions: Self.marker
        )
    }

    @Test
    func serverWithExtensionThatFailsToDecodeFailsWith1002WithoutTheDetail() {
        expectFailure(
            clientFrame(.binary, [0xEE, 1], rsv: 0x40),
            to: .server,
            code: 1002,
            .extensionFailure("bad marker"),
            extensions: Self.marker
        )
    }

    @Test
    func serverWithExtensionDecodingInvalidUTF8FailsWith1007() {
        expectFailure(
            clientFrame(.text, [0x00, 0xED, 0xA0, 0x80], rsv: 0x40),
            to: .server,
            code: 1007,
            .invalidUTF8,
            extensions: Self.marker
        )
    }

    @Test
    func serverWithExtensionDecodingTextThatEndsInsideAScalarFailsWith1007() {
        expectFailure(
            clientFrame(.text, [0x00, 0x61, 0xE2], fin: false, rsv: 0x40) + clientFrame(.continuation, [0x00, 0x82]),
            to: .server,
            code: 1007,
            .invalidUTF8,
            extensions: Self.marker
        )
    }

    @Test
    func serverWithExtensionDecodingTextWithScalarSplitAcrossFramesDeliversIt() {
        let input =
            clientFrame(.text, [0x00, 0xE2], fin: false, rsv: 0x40) + clientFrame(.continuation, [0x00, 0x82, 0xAC])
        let transcript = feed(input, to: .server, extensions: Self.marker)
        #expect(transcript.events == [.message(.text("€"))])
    }

    @Test
    func serverWithExtensionDecodingOverTheMessageLimitFailsWith1009() {
        expectFailure(
            clientFrame(.binary, [0x00] + [UInt8](repeating: 7, count: 15), fin: false, rsv: 0x40)
                + clientFrame(.continuation, [0x00] + [UInt8](repeating: 8, count: 15)),
            to: .server,
            code: 1009,
            .messageTooBig,
            configuration: WebSocketConfiguration(maxMessageSize: 20),
            extensions: { [MarkerExtension()] }
        )
    }

    @Test
    func endpointWithExtensionReleasesItWhenTheConnectionEnds() {
        let codec = MarkerExtension()
        var connection = makeConnection(.client, extensions: [codec])
        #expect(!codec.released)
        connection.receiveEOF()
        #expect(codec.released)
    }

    // MARK: Sending

    @Test
    func serverWithExtensionSendsEncodedMessageWithRSV1() {
        var connection = makeConnection(.server, extensions: [MarkerExtension()])
        must { try connection.send(.text("Hi")) }
        #expect(connection.drainSent() == [.bytes(serverFrame(.text, [0x00] + utf8("Hi"), rsv: 0x40))])
    }

    @Test
    func clientWithExtensionSendsRSV1OnTheFirstFragmentOnly() {
        var connection = makeConnection(
            .client,
            configuration: WebSocketConfiguration(outboundFragmentSize: 2),
            extensions: [MarkerExtension()]
        )
        must { try connection.send(.binary([1, 2, 3])) }
        let expected =
            clientFrame(.binary, [0x00, 1], fin: false, rsv: 0x40) + clientFrame(.continuation, [2, 3])
        #expect(connection.drainSent() == [.bytes(expected)])
    }

    @Test
    func serverWithExtensionThatDeclinesToEncodeSendsThePlainMessage() {
        let codec = MarkerExtension()
        codec.encodes = false
        var connection = makeConnection(.server, extensions: [codec])
        must { try connection.send(.text("Hi")) }
        #expect(connection.drainSent() == [.bytes(serverFrame(.text, "Hi"))])
    }

    @Test
    func serverWithExtensionSendsFragmentsAndControlFramesUnencoded() {
        var connection = makeConnection(.server, extensions: [MarkerExtension()])
        must { try connection.sendFragment(ByteBuffer(string: "a"), kind: .text, isFinal: true) }
        must { try connection.sendPing(ByteBuffer(string: "p")) }
        must { try connection.close() }
        let expected = serverFrame(.text, "a") + serverFrame(.ping, "p") + serverFrame(.close, closeBody(1000))
        #expect(connection.drainSent() == [.bytes(expected)])
    }
}

/// A stand-in for permessage-deflate (RFC 7692) that claims RSV1: "decoding" strips a leading
/// `0x00` from each frame's payload, "encoding" prepends one. A payload starting with `0xEE`
/// makes decoding fail, and a message over the limit fails with 1009 as the protocol asks.
final class MarkerExtension: WebSocketExtension {
    let name = "x-marker"
    let reservedBits = WebSocketFrameHeader.rsv1
    private(set) var decodedFrames: [(payload: [UInt8], isFinal: Bool, limit: Int)] = []
    private(set) var released = false
    var encodes = true

    func decode(_ payload: ByteBuffer, isFinal: Bool, limit: Int) -> Result<ByteBuffer, WebSocketProtocolError> {
        decodedFrames.append((payload.bytes, isFinal, limit))
        var payload = payload
        if payload.readableBytesView.first == 0xEE {
            return .failure(.extensionFailure("bad marker"))
        }
        if payload.readableBytesView.first == 0x00 {
            payload.moveReaderIndex(forwardBy: 1)
        }
        guard payload.readableBytes <= limit else { return .failure(WebSocketProtocolError(.messageTooBig)) }
        return .success(payload)
    }

    func encode(_ message: ByteBuffer) -> ByteBuffer? {
        guard encodes else { return nil }
        var encoded = ByteBuffer(bytes: [0x00])
        encoded.writeImmutableBuffer(message)
        return encoded
    }

    func release() {
        released = true
    }
}
