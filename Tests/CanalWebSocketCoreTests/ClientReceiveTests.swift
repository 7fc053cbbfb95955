import NIOCore
import Testing

@testable import CanalWebSocketCore

/// A client endpoint checking what servers send: RFC 6455 §5.1-§5.5 and §8.1. Whatever the
/// client sends in reply is masked with the injected key.
@Suite("Client receiving")
struct ClientReceiveTests {
    // MARK: §5.1 masking, §5.7 examples

    @Test
    func clientReceivesRFCUnmaskedHelloDeliversTextMessage() {
        let transcript = feed(hex("81 05 48 65 6c 6c 6f"), to: .client)
        #expect(transcript.events == [.message(.text("Hello"))])
        #expect(transcript.sent == [])
        #expect(transcript.state == .open)
    }

    @Test
    func clientReceivesRFCFragmentedHelloDeliversOneMessage() {
        let transcript = feed(hex("01 03 48 65 6c 80 02 6c 6f"), to: .client)
        #expect(transcript.events == [.message(.text("Hello"))])
    }

    @Test
    func clientReceivesRFC256ByteAnd64KiBBinaryMessagesDeliversThem() {
        let small = (0..<256).map { UInt8(truncatingIfNeeded: $0) }
        let large = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 3) }
        let input = hex("82 7E 01 00") + small + hex("82 7F 00 00 00 00 00 01 00 00") + large
        let transcript = feed(input, to: .client)
        #expect(transcript.events == [.message(.binary(small)), .message(.binary(large))])
    }

    @Test(arguments: [WebSocketOpcode.text, .binary, .continuation, .ping, .pong, .close])
    func clientReceivesMaskedFrameFailsWith1002(_ opcode: WebSocketOpcode) {
        // RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame."
        expectFailure(clientFrame(opcode, utf8("hi")), to: .client, code: 1002, .maskedServerFrame)
    }

    @Test
    func clientReceivesMaskedFrameHeaderFailsBeforeThePayloadArrives() {
        expectFailure(hex("82 FE 10 00 01 02 03 04"), to: .client, code: 1002, .maskedServerFrame)
    }

    @Test
    func clientReceivesRFCPingRepliesWithTheRFCMaskedPong() {
        // The injected key is the RFC's, so the reply is byte for byte the RFC's masked pong.
        let transcript = feed(hex("89 05 48 65 6c 6c 6f"), to: .client)
        #expect(transcript.events == [.ping(ByteBuffer(string: "Hello"))])
        #expect(transcript.sent == [.bytes(hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"))])
    }

    @Test(arguments: [0, 1, 125])
    func clientReceivesPingRepliesWithMaskedPongOfTheSamePayload(_ length: Int) {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &+ 0x30) }
        let transcript = feed(serverFrame(.ping, payload), to: .client)
        #expect(transcript.events == [.ping(ByteBuffer(bytes: payload))])
        #expect(transcript.sent == [.bytes(clientFrame(.pong, payload))])
    }

    @Test
    func clientReceivesPingEventCarriesTheUnmaskedPayload() {
        // Masking the pong must not touch the payload reported to the application.
        var connection = makeConnection(.client)
        connection.receive(serverFrame(.ping, "Hello"))
        #expect(connection.drainEvents() == [.ping(ByteBuffer(string: "Hello"))])
        #expect(connection.drainSent() == [.bytes(clientFrame(.pong, "Hello"))])
    }

    // MARK: §5.2 base framing

    @Test(arguments: [0x40, 0x20, 0x10] as [UInt8])
    func clientReceivesFrameWithReservedBitsFailsWith1002(_ rsv: UInt8) {
        expectFailure(serverFrame(.text, "x", rsv: rsv), to: .client, code: 1002, .reservedBitsSet)
        expectFailure(serverFrame(.ping, "x", rsv: rsv), to: .client, code: 1002, .reservedBitsSet)
    }

    @Test(arguments: ServerReceiveTests.reservedOpcodes)
    func clientReceivesReservedOpcodeFailsWith1002(_ opcode: UInt8) {
        expectFailure(
            serverFrame(WebSocketOpcode(rawValue: opcode)!, []),
            to: .client,
            code: 1002,
            .reservedOpcode(opcode)
        )
    }

    @Test
    func clientReceives64BitLengthWithMostSignificantBitSetFailsWith1002() {
        expectFailure(hex("82 7F 80 00 00 00 00 00 00 01"), to: .client, code: 1002, .lengthTooLarge)
    }

    // MARK: §5.4 fragmentation

    @Test
    func clientReceivesPingBetweenFragmentsAnswersItAndDeliversTheMessage() {
        let input =
            serverFrame(.binary, [1], fin: false) + serverFrame(.ping, "p")
            + serverFrame(.continuation, [2], fin: false) + serverFrame(.continuation, [3])
        let transcript = feed(input, to: .client)
        #expect(transcript.events == [.ping(ByteBuffer(string: "p")), .message(.binary([1, 2, 3]))])
        #expect(transcript.sent == [.bytes(clientFrame(.pong, "p"))])
    }

    @Test
    func clientReceivesContinuationWithoutStartFailsWith1002() {
        expectFailure(serverFrame(.continuation, "x"), to: .client, code: 1002, .unexpectedContinuation)
    }

    @Test
    func clientReceivesNewMessageDuringFragmentedOneFailsWith1002() {
        expectFailure(
            serverFrame(.text, "a", fin: false) + serverFrame(.binary, [1]),
            to: .client,
            code: 1002,
            .expectedContinuation
        )
    }

    // MARK: §5.5 control frames

    @Test(arguments: [WebSocketOpcode.ping, .pong, .close])
    func clientReceivesControlFrameOver125BytesFailsWith1002(_ opcode: WebSocketOpcode) {
        let input = serverFrame(opcode, [UInt8](repeating: 0x03, count: 200))
        expectFailure(input, to: .client, code: 1002, .controlFrameTooLong(200))
        expectFailure(Array(input.prefix(4)), to: .client, code: 1002, .controlFrameTooLong(200))
    }

    @Test(arguments: [WebSocketOpcode.ping, .pong, .close])
    func clientReceivesFragmentedControlFrameFailsWith1002(_ opcode: WebSocketOpcode) {
        expectFailure(serverFrame(opcode, [], fin: false), to: .client, code: 1002, .fragmentedControlFrame)
    }

    // MARK: Limits (1009)

    @Test
    func clientReceivesFrameOverMaxFrameSizeFailsWith1009() {
        let configuration = WebSocketConfiguration(maxFrameSize: 1000)
        expectFailure(
            Array(serverFrame(.binary, [UInt8](repeating: 0, count: 1001)).prefix(4)),
            to: .client,
            code: 1009,
            .frameTooBig(1001),
            configuration: configuration
        )
    }

    @Test
    func clientReceivesMessageOverMaxMessageSizeAcrossFragmentsFailsWith1009() {
        let configuration = WebSocketConfiguration(maxFrameSize: 10, maxMessageSize: 25)
        let input =
            serverFrame(.text, "0123456789", fin: false) + serverFrame(.continuation, "0123456789", fin: false)
            + serverFrame(.continuation, "012345")
        expectFailure(input, to: .client, code: 1009, .messageTooBig, configuration: configuration)
    }

    @Test
    func clientReceivesMoreFragmentsThanMaxFragmentCountFailsWith1009() {
        let configuration = WebSocketConfiguration(maxFragmentCount: 2)
        let input =
            serverFrame(.binary, [], fin: false) + serverFrame(.continuation, [], fin: false)
            + serverFrame(.continuation, [])
        expectFailure(input, to: .client, code: 1009, .tooManyFragments, configuration: configuration)
    }

    // MARK: §8.1 UTF-8 (1007)

    @Test
    func clientReceivesInvalidUTF8TextFailsWith1007() {
        expectFailure(serverFrame(.text, hex("ED A0 80")), to: .client, code: 1007, .invalidUTF8)
    }

    @Test
    func clientReceivesInvalidUTF8SplitAcrossFragmentsFailsWith1007() {
        // F4 90 is above U+10FFFF even though each fragment alone looks harmless.
        let input = serverFrame(.text, hex("F4"), fin: false) + serverFrame(.continuation, hex("90 80 80"))
        expectFailure(input, to: .client, code: 1007, .invalidUTF8)
    }

    @Test
    func clientReceivesInvalidByteInPartialTextFrameFailsBeforeTheRestArrives() {
        let payload = utf8("hello") + hex("C1 BF") + [UInt8](repeating: 0x61, count: 1000)
        let input = Array(serverFrame(.text, payload).prefix(4 + 6))
        expectFailure(input, to: .client, code: 1007, .invalidUTF8)
    }

    @Test
    func clientReceivesValidTextSplitAcrossFragmentsDeliversIt() {
        let input =
            serverFrame(.text, hex("F0 9F"), fin: false) + serverFrame(.continuation, hex("8C 8D 20 E2 82"), fin: false)
            + serverFrame(.continuation, hex("AC"))
        let transcript = feed(input, to: .client)
        #expect(transcript.events == [.message(.text("🌍 €"))])
    }

    // MARK: §7.1.1 who closes TCP

    @Test
    func clientFailingTheConnectionSendsCloseAndWaitsForTheServerToEndTCP() {
        // RFC 6455 §7.1.1: "the client SHOULD wait for the server to close the connection".
        // No half-close: the close timer bounds the wait, the server's FIN ends it.
        var client = makeConnection(.client)
        client.receive(serverFrame(.text, hex("C0 80")))
        #expect(client.drainEvents() == [])
        let error = WebSocketProtocolError(.invalidUTF8)
        #expect(client.drainSent() == [.bytes(clientFrame(.close, closeBody(1007, error.reason)))])
        #expect(client.state == .failed)
        #expect(client.isClosing)
        client.receiveEOF()
        #expect(
            client.drainEvents() == [
                .closed(WebSocketCloseStatus(code: .abnormalClosure, reason: "", wasClean: false, error: error))
            ]
        )
        #expect(client.drainSent() == [])
    }
}
