import NIOCore
import Testing

@testable import CanalWebSocketCore

/// A server endpoint checking what clients send: RFC 6455 §5.1-§5.5 and §8.1.
@Suite("Server receiving")
struct ServerReceiveTests {
    static let reservedOpcodes: [UInt8] = [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF]

    // MARK: §5.1, §5.3 masking

    @Test
    func serverReceivesRFCMaskedHelloDeliversTextMessage() {
        let transcript = feed(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), to: .server)
        #expect(transcript.events == [.message(.text("Hello"))])
        #expect(transcript.sent == [])
        #expect(transcript.state == .open)
    }

    @Test
    func serverReceivesMaskedBinaryFrameDeliversMessage() {
        let payload: [UInt8] = [0x00, 0xFF, 0x80, 0x7F, 0x01]
        let transcript = feed(clientFrame(.binary, payload), to: .server)
        #expect(transcript.events == [.message(.binary(payload))])
        #expect(transcript.sent == [])
    }

    @Test
    func serverReceivesEmptyTextAndBinaryMessagesDeliversThem() {
        let transcript = feed(clientFrame(.text, []) + clientFrame(.binary, []), to: .server)
        #expect(transcript.events == [.message(.text("")), .message(.binary([UInt8]()))])
    }

    @Test
    func serverReceivesFramesWithDifferentKeysUnmasksEachWithItsOwn() {
        let input =
            clientFrame(.text, utf8("first"), key: [0x01, 0x02, 0x03, 0x04])
            + clientFrame(.text, utf8("second"), key: [0xFF, 0x00, 0xAA, 0x55])
            + clientFrame(.binary, [1, 2, 3], key: [0, 0, 0, 0])
        let transcript = feed(input, to: .server)
        #expect(
            transcript.events == [.message(.text("first")), .message(.text("second")), .message(.binary([1, 2, 3]))])
    }

    @Test(arguments: [WebSocketOpcode.text, .binary, .continuation, .ping, .pong, .close])
    func serverReceivesUnmaskedFrameFailsWith1002(_ opcode: WebSocketOpcode) {
        expectFailure(serverFrame(opcode, utf8("hi")), to: .server, code: 1002, .unmaskedClientFrame)
    }

    @Test
    func serverReceivesUnmaskedFrameHeaderFailsBeforeThePayloadArrives() {
        // Two bytes are enough to know the frame is not masked.
        expectFailure(hex("81 7E 10 00"), to: .server, code: 1002, .unmaskedClientFrame)
    }

    @Test
    func serverReceivesUnmaskedFrameAfterGoodOnesDeliversTheGoodOnesFirst() {
        expectFailure(
            clientFrame(.text, "ok") + serverFrame(.text, "bad") + clientFrame(.text, "ignored"),
            to: .server,
            code: 1002,
            .unmaskedClientFrame,
            eventsBefore: [.message(.text("ok"))]
        )
    }

    @Test
    func serverReceiveLeavesTheCallersBufferMasked() {
        var connection = makeConnection(.server)
        let bytes = clientFrame(.text, "Hello")
        let buffer = ByteBuffer(bytes: bytes)
        connection.receive(buffer)
        #expect(buffer.bytes == bytes)
        #expect(connection.drainEvents() == [.message(.text("Hello"))])
    }

    @Test
    func serverMessageKeepsItsBytesWhileLaterInputArrives() {
        var connection = makeConnection(.server)
        let second = clientFrame(.binary, [UInt8](repeating: 0x42, count: 200))
        connection.receive(clientFrame(.text, "Hello") + second.prefix(20))
        let events = connection.drainEvents()
        #expect(events == [.message(.text("Hello"))])
        connection.receive(Array(second.dropFirst(20)))
        #expect(events == [.message(.text("Hello"))])
        #expect(connection.drainEvents() == [.message(.binary([UInt8](repeating: 0x42, count: 200)))])
    }

    // MARK: Pulling events drives the frames

    @Test
    func serverAnswersEachMessageBeforeALaterBadFrameFailsTheConnection() {
        // Frames are acted on as events are pulled, so a message received intact is seen (and
        // can be answered) before a later frame in the same read fails the connection.
        var connection = makeConnection(.server)
        connection.receive(clientFrame(.text, "question") + serverFrame(.text, "unmasked"))
        #expect(connection.nextEvent() == .message(.text("question")))
        #expect(connection.isOpen)
        must { try connection.send(.text("answer")) }
        #expect(connection.nextEvent() == nil)
        #expect(connection.state == .failed)
        #expect(
            connection.drainSent() == [
                .bytes(serverFrame(.text, "answer") + serverFrame(.close, closeBody(1002, "client frame not masked"))),
                .shutdownOutput,
            ]
        )
    }

    @Test
    func serverReceivesManyReadsWithoutPullingEventsLosesNothing() {
        var connection = makeConnection(.server)
        let input =
            clientFrame(.text, "a") + clientFrame(.ping, "p") + clientFrame(.binary, [1, 2, 3])
            + clientFrame(.text, "€", fin: false) + clientFrame(.continuation, "!")
        for byte in input { connection.receive([byte]) }
        #expect(
            connection.drainEvents() == [
                .message(.text("a")), .ping(ByteBuffer(string: "p")), .message(.binary([1, 2, 3])),
                .message(.text("€!")),
            ]
        )
        #expect(connection.drainSent() == [.bytes(serverFrame(.pong, "p"))])
    }

    @Test
    func serverReceivesBadByteThenMoreReadsWithoutPullingEventsFailsWith1007() {
        var connection = makeConnection(.server)
        connection.receive(partialClientText(declaring: 50, prefix: hex("61 FF")))
        connection.receive(Array(repeating: 0x61, count: 10))
        #expect(connection.drainEvents() == [])
        #expect(connection.state == .failed)
        #expect(
            connection.drainSent() == [
                .bytes(serverFrame(.close, closeBody(1007, "invalid UTF-8 in text message"))), .shutdownOutput,
            ]
        )
    }

    @Test
    func serverReceivesEmptyReadsBetweenBytesChangesNothing() {
        var connection = makeConnection(.server)
        let input = clientFrame(.text, "ab€", fin: false) + clientFrame(.ping, "p") + clientFrame(.continuation, "!")
        for byte in input {
            connection.receive([])
            connection.receive([byte])
            connection.receive([])
        }
        #expect(connection.drainEvents() == [.ping(ByteBuffer(string: "p")), .message(.text("ab€!"))])
        #expect(connection.drainSent() == [.bytes(serverFrame(.pong, "p"))])
    }

    /// A long stream of every kind of frame, text cut at awkward places, with pings in between.
    static func mixedStream(toward role: WebSocketRole, random: inout SplitMix64) -> (
        input: [UInt8], events: [WebSocketEvent], pongs: [UInt8]
    ) {
        var input: [UInt8] = []
        var events: [WebSocketEvent] = []
        var pongs: [UInt8] = []
        let pieces = ["a", "é", "€", "🌍", "日本", "xyz", " ", "ß"]
        for index in 0..<60 {
            let text = (0..<Int.random(in: 0...40, using: &random)).map { _ in pieces.randomElement(using: &random)! }
                .joined()
            let bytes = utf8(text)
            let fragments = Int.random(in: 1...4, using: &random)
            let binary = index % 3 == 0
            var cuts = (0..<(fragments - 1)).map { _ in Int.random(in: 0...bytes.count, using: &random) }.sorted()
            cuts = [0] + cuts + [bytes.count]
            for fragment in 0..<fragments {
                let opcode: WebSocketOpcode = fragment == 0 ? (binary ? .binary : .text) : .continuation
                let slice = Array(bytes[cuts[fragment]..<cuts[fragment + 1]])
                input += frame(toward: role, opcode, slice, fin: fragment == fragments - 1)
                if fragment == fragments - 1 {
                    events.append(.message(binary ? .binary(bytes) : .text(text)))
                }
                if Bool.random(using: &random) {
                    let ping = utf8("ping \(index).\(fragment)")
                    input += frame(toward: role, .ping, ping)
                    events.append(.ping(ByteBuffer(bytes: ping)))
                    pongs += frame(sentBy: role, .pong, ping)
                }
            }
        }
        return (input, events, pongs)
    }

    @Test(arguments: [WebSocketRole.server, .client])
    func endpointReceivesLongMixedStreamInRandomReadsTellsTheSameStory(_ role: WebSocketRole) {
        var random = SplitMix64(state: 17)
        let stream = Self.mixedStream(toward: role, random: &random)
        for round in 0..<30 {
            var connection = makeConnection(role)
            var events: [WebSocketEvent] = []
            var sent: [Sent] = []
            var offset = 0
            while offset < stream.input.count {
                let length = min(
                    stream.input.count - offset, Int.random(in: 1...(round < 10 ? 7 : 300), using: &random))
                connection.receive(Array(stream.input[offset..<(offset + length)]))
                offset += length
                // A driver may pull events after every read, or only now and then.
                if Bool.random(using: &random) {
                    events += connection.drainEvents()
                    for item in connection.drainSent() { sent.appendMerging(item) }
                }
            }
            events += connection.drainEvents()
            for item in connection.drainSent() { sent.appendMerging(item) }
            #expect(events == stream.events, "round \(round)")
            #expect(sent == [.bytes(stream.pongs)], "round \(round)")
            #expect(connection.state == .open)
        }
    }

    // MARK: §5.2 base framing

    @Test
    func serverReceivesFrameWith16BitLengthDeliversIt() {
        let payload = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        let transcript = feed(clientFrame(.binary, payload), to: .server)
        #expect(transcript.events == [.message(.binary(payload))])
    }

    @Test(arguments: [65535, 65536, 70_000])
    func serverReceivesLargeFrameDeliversIt(_ length: Int) {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let transcript = feed(clientFrame(.binary, payload), to: .server)
        #expect(transcript.events == [.message(.binary(payload))])
        #expect(transcript.sent == [])
    }

    @Test
    func serverReceivesSeveralFramesInOneReadHandlesThemInOrder() {
        let input =
            clientFrame(.text, "one") + clientFrame(.ping, "p") + clientFrame(.binary, [2])
            + clientFrame(.pong, "q") + clientFrame(.text, "three")
        let transcript = feed(input, to: .server)
        #expect(
            transcript.events == [
                .message(.text("one")), .ping(ByteBuffer(string: "p")), .message(.binary([2])),
                .pong(ByteBuffer(string: "q")), .message(.text("three")),
            ]
        )
        #expect(transcript.sent == [.bytes(serverFrame(.pong, "p"))])
    }

    @Test(arguments: [0x40, 0x20, 0x10, 0x60, 0x70] as [UInt8])
    func serverReceivesDataFrameWithReservedBitsFailsWith1002(_ rsv: UInt8) {
        expectFailure(clientFrame(.text, "x", rsv: rsv), to: .server, code: 1002, .reservedBitsSet)
        expectFailure(clientFrame(.binary, [1], rsv: rsv), to: .server, code: 1002, .reservedBitsSet)
    }

    @Test(arguments: [0x40, 0x20, 0x10] as [UInt8])
    func serverReceivesControlFrameWithReservedBitsFailsWith1002(_ rsv: UInt8) {
        expectFailure(clientFrame(.ping, "x", rsv: rsv), to: .server, code: 1002, .reservedBitsSet)
        expectFailure(clientFrame(.pong, "", rsv: rsv), to: .server, code: 1002, .reservedBitsSet)
        expectFailure(clientFrame(.close, closeBody(1000), rsv: rsv), to: .server, code: 1002, .reservedBitsSet)
    }

    @Test(arguments: [0x40, 0x20, 0x10] as [UInt8])
    func serverReceivesContinuationWithReservedBitsFailsWith1002(_ rsv: UInt8) {
        expectFailure(
            clientFrame(.text, "a", fin: false) + clientFrame(.continuation, "b", rsv: rsv),
            to: .server,
            code: 1002,
            .reservedBitsSet
        )
    }

    @Test(arguments: reservedOpcodes)
    func serverReceivesReservedOpcodeFailsWith1002(_ opcode: UInt8) {
        let input = clientFrame(WebSocketOpcode(rawValue: opcode)!, utf8("data"))
        expectFailure(input, to: .server, code: 1002, .reservedOpcode(opcode))
        // Also while a fragmented message is in progress, and before its payload arrives.
        expectFailure(
            clientFrame(.text, "a", fin: false) + Array(input.prefix(6)),
            to: .server,
            code: 1002,
            .reservedOpcode(opcode)
        )
    }

    @Test(arguments: [
        "82 FF 80 00 00 00 00 00 00 00 37 FA 21 3D",
        "81 FF FF FF FF FF FF FF FF FF 37 FA 21 3D",
    ])
    func serverReceives64BitLengthWithMostSignificantBitSetFailsWith1002(_ header: String) {
        expectFailure(hex(header), to: .server, code: 1002, .lengthTooLarge)
    }

    @Test
    func serverReceivesHugeDeclaredLengthFailsWith1009BeforeBufferingAnything() {
        // 2^62 bytes: a valid 64-bit length, far over the limit.
        expectFailure(hex("82 FF 40 00 00 00 00 00 00 00 37 FA 21 3D"), to: .server, code: 1009, .frameTooBig(1 << 62))
    }

    // MARK: §5.4 fragmentation

    @Test
    func serverReceivesFragmentedTextDeliversOneMessage() {
        let input =
            clientFrame(.text, "Hel", fin: false) + clientFrame(.continuation, "lo, ", fin: false)
            + clientFrame(.continuation, "world")
        let transcript = feed(input, to: .server)
        #expect(transcript.events == [.message(.text("Hello, world"))])
        #expect(transcript.sent == [])
    }

    @Test
    func serverReceivesFragmentedBinaryWithEmptyFragmentsDeliversOneMessage() {
        let input =
            clientFrame(.binary, [], fin: false) + clientFrame(.continuation, [1, 2], fin: false)
            + clientFrame(.continuation, [], fin: false) + clientFrame(.continuation, [3])
        let transcript = feed(input, to: .server)
        #expect(transcript.events == [.message(.binary([1, 2, 3]))])
    }

    @Test
    func serverReceivesControlFramesBetweenFragmentsHandlesThemFirst() {
        // RFC 6455 §5.4: control frames may be injected in the middle of a fragmented message.
        let input =
            clientFrame(.text, "Hel", fin: false) + clientFrame(.ping, "p1")
            + clientFrame(.continuation, "l", fin: false) + clientFrame(.pong, "p2") + clientFrame(.ping, "")
            + clientFrame(.continuation, "o")
        let transcript = feed(input, to: .server)
        #expect(
            transcript.events == [
                .ping(ByteBuffer(string: "p1")), .pong(ByteBuffer(string: "p2")), .ping(ByteBuffer()),
                .message(.text("Hello")),
            ]
        )
        #expect(transcript.sent == [.bytes(serverFrame(.pong, "p1") + serverFrame(.pong, ""))])
    }

    @Test
    func serverReceivesTwoFragmentedMessagesInARowDeliversBoth() {
        let input =
            clientFrame(.text, "a", fin: false) + clientFrame(.continuation, "b")
            + clientFrame(.binary, [1], fin: false) + clientFrame(.continuation, [2])
        let transcript = feed(input, to: .server)
        #expect(transcript.events == [.message(.text("ab")), .message(.binary([1, 2]))])
    }

    @Test(arguments: [true, false])
    func serverReceivesContinuationWithoutStartFailsWith1002(_ fin: Bool) {
        expectFailure(clientFrame(.continuation, "x", fin: fin), to: .server, code: 1002, .unexpectedContinuation)
    }

    @Test
    func serverReceivesContinuationWithoutStartFailsBeforeItsPayloadArrives() {
        let input = Array(clientFrame(.continuation, [UInt8](repeating: 0x61, count: 50)).prefix(6))
        expectFailure(input, to: .server, code: 1002, .unexpectedContinuation)
    }

    @Test
    func serverReceivesContinuationAfterFinalFrameFailsWith1002() {
        expectFailure(
            clientFrame(.text, "done") + clientFrame(.continuation, "more"),
            to: .server,
            code: 1002,
            .unexpectedContinuation,
            eventsBefore: [.message(.text("done"))]
        )
    }

    @Test(arguments: [WebSocketOpcode.text, .binary])
    func serverReceivesNewMessageDuringFragmentedOneFailsWith1002(_ opcode: WebSocketOpcode) {
        expectFailure(
            clientFrame(.text, "a", fin: false) + clientFrame(opcode, utf8("b")),
            to: .server,
            code: 1002,
            .expectedContinuation
        )
        expectFailure(
            clientFrame(.binary, [1], fin: false) + clientFrame(opcode, utf8("b"), fin: false),
            to: .server,
            code: 1002,
            .expectedContinuation
        )
    }

    @Test
    func serverReceivesNewMessageDuringFragmentedOneFailsBeforeItsPayloadArrives() {
        let input =
            clientFrame(.text, "a", fin: false) + clientFrame(.text, String(repeating: "b", count: 40)).prefix(6)
        expectFailure(input, to: .server, code: 1002, .expectedContinuation)
    }

    // MARK: §5.5 control frames

    @Test(arguments: [WebSocketOpcode.ping, .pong, .close])
    func serverReceivesControlFrameOver125BytesFailsWith1002(_ opcode: WebSocketOpcode) {
        var payload = [UInt8](repeating: 0x61, count: 126)
        if opcode == .close { payload = closeBody(1000, String(repeating: "a", count: 124)) }
        expectFailure(clientFrame(opcode, payload), to: .server, code: 1002, .controlFrameTooLong(126))
        // The header alone (with its 16-bit length and key) is enough.
        expectFailure(Array(clientFrame(opcode, payload).prefix(8)), to: .server, code: 1002, .controlFrameTooLong(126))
    }

    @Test(arguments: [WebSocketOpcode.ping, .pong, .close])
    func serverReceivesFragmentedControlFrameFailsWith1002(_ opcode: WebSocketOpcode) {
        expectFailure(
            clientFrame(opcode, closeBody(1000), fin: false), to: .server, code: 1002, .fragmentedControlFrame)
    }

    @Test
    func serverReceivesRFCPingRepliesWithPongCarryingTheSamePayload() {
        let transcript = feed(clientFrame(.ping, "Hello"), to: .server)
        #expect(transcript.events == [.ping(ByteBuffer(string: "Hello"))])
        #expect(transcript.sent == [.bytes(hex("8a 05 48 65 6c 6c 6f"))])
        #expect(transcript.state == .open)
    }

    @Test(arguments: [0, 1, 124, 125])
    func serverReceivesPingOfAnyAllowedSizeRepliesWithTheSamePayload(_ length: Int) {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: 0xF0 &+ $0) }
        let transcript = feed(clientFrame(.ping, payload), to: .server)
        #expect(transcript.events == [.ping(ByteBuffer(bytes: payload))])
        #expect(transcript.sent == [.bytes(serverFrame(.pong, payload))])
    }

    @Test
    func serverReceivesPingWithAutoReplyOffOnlyReportsIt() {
        let transcript = feed(
            clientFrame(.ping, "x"),
            to: .server,
            configuration: WebSocketConfiguration(autoReplyToPings: false)
        )
        #expect(transcript.events == [.ping(ByteBuffer(string: "x"))])
        #expect(transcript.sent == [])
    }

    @Test
    func serverReceivesPongReportsItAndSendsNothing() {
        let transcript = feed(clientFrame(.pong, "beat"), to: .server)
        #expect(transcript.events == [.pong(ByteBuffer(string: "beat"))])
        #expect(transcript.sent == [])
    }
}
