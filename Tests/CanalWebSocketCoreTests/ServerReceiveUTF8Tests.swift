import NIOCore
import Testing

@testable import CanalWebSocketCore

/// A server endpoint checking text (RFC 6455 §8.1): 1007 for invalid UTF-8, however the
/// bytes are cut into frames and reads, and as soon as the first bad byte arrives.
@Suite("Server receiving: UTF-8")
struct ServerReceiveUTF8Tests {
    // MARK: §8.1 UTF-8 (1007)

    @Test(arguments: [
        "FF", "C0 AF", "ED A0 80", "F4 90 80 80", "80",
        "CE BA E1 BD B9 CF 83 CE BC CE B5 ED A0 80 65 64 69 74 65 64",  // Autobahn 6.3.1
        "68 65 6C 6C 6F E2 82",  // ends inside a scalar
    ])
    func serverReceivesInvalidUTF8TextFailsWith1007(_ payload: String) {
        expectFailure(clientFrame(.text, hex(payload)), to: .server, code: 1007, .invalidUTF8)
    }

    @Test(arguments: ["FF", "ED A0 80", "E2 82"])
    func serverReceivesBinaryWithInvalidUTF8DeliversIt(_ payload: String) {
        let transcript = feed(clientFrame(.binary, hex(payload)), to: .server)
        #expect(transcript.events == [.message(.binary(hex(payload)))])
    }

    @Test
    func serverReceivesScalarSplitAcrossFragmentsDeliversTheText() {
        // € is E2 82 AC; 🌍 is F0 9F 8C 8D.
        let input =
            clientFrame(.text, hex("E2"), fin: false) + clientFrame(.continuation, hex("82"), fin: false)
            + clientFrame(.ping, "") + clientFrame(.continuation, hex("AC F0 9F"), fin: false)
            + clientFrame(.continuation, [], fin: false) + clientFrame(.continuation, hex("8C 8D"))
        let transcript = feed(input, to: .server)
        #expect(transcript.events == [.ping(ByteBuffer()), .message(.text("€🌍"))])
    }

    @Test
    func serverReceivesInvalidUTF8SplitAcrossFragmentsFailsWith1007() {
        let input = clientFrame(.text, hex("61 E2"), fin: false) + clientFrame(.continuation, hex("28 A1"))
        expectFailure(input, to: .server, code: 1007, .invalidUTF8)
    }

    @Test
    func serverReceivesFragmentedTextEndingInsideAScalarFailsWith1007() {
        let input = clientFrame(.text, hex("61"), fin: false) + clientFrame(.continuation, hex("F0 9F 8C"))
        expectFailure(input, to: .server, code: 1007, .invalidUTF8)
    }

    @Test
    func serverReceivesTextAfterABinaryMessageValidatesFromScratch() {
        // The validator state must not leak between messages.
        let input =
            clientFrame(.text, "é") + clientFrame(.binary, hex("E2")) + clientFrame(.text, hex("A9"))
        expectFailure(
            input,
            to: .server,
            code: 1007,
            .invalidUTF8,
            eventsBefore: [.message(.text("é")), .message(.binary(hex("E2")))]
        )
    }

    @Test
    func serverReceivesTextSplitMidScalarWithinOneFrameDeliversIt() {
        // Every split of the input cuts some scalar between two reads.
        let text = "ÄÖÜ €uro 🌍 日本"
        let transcript = feed(clientFrame(.text, text), to: .server)
        #expect(transcript.events == [.message(.text(text))])
    }

    // MARK: §8.1 fail fast

    @Test(arguments: ["61 62 FF", "C0", "ED A0", "F4 90", "61 62 63 64 65 66 67 68 69 80"])
    func serverReceivesInvalidByteInPartialTextFrameFailsBeforeTheRestArrives(_ prefix: String) {
        // Only part of a 200-byte frame arrives; the bad byte is enough to fail.
        expectFailure(partialClientText(declaring: 200, prefix: hex(prefix)), to: .server, code: 1007, .invalidUTF8)
    }

    @Test
    func serverReceivesInvalidByteInPartialContinuationFailsBeforeTheRestArrives() {
        let continuation = clientFrame(.continuation, hex("62 ED A0 80") + [UInt8](repeating: 0x63, count: 300))
        let input = clientFrame(.text, "a", fin: false) + clientFrame(.ping, "") + continuation.prefix(8 + 3)
        expectFailure(
            input,
            to: .server,
            code: 1007,
            .invalidUTF8,
            eventsBefore: [.ping(ByteBuffer())],
            sentBefore: serverFrame(.pong, [])
        )
    }

    @Test
    func serverReceivesValidPrefixOfPartialTextFrameWaitsForTheRest() {
        let transcript = feed(partialClientText(declaring: 200, prefix: utf8("héllo ") + hex("E2 82")), to: .server)
        #expect(transcript.events == [])
        #expect(transcript.sent == [])
        #expect(transcript.state == .open)
    }

    @Test
    func serverReceivesPartialBinaryFrameWithInvalidUTF8WaitsForTheRest() {
        var input = clientFrame(.binary, hex("FF FE") + [UInt8](repeating: 0, count: 100))
        input.removeLast(50)
        let transcript = feed(input, to: .server)
        #expect(transcript.events == [])
        #expect(transcript.state == .open)
    }

    @Test
    func serverReceivesTextFrameInPiecesValidatesEveryPieceOnce() {
        // A frame that is partly validated while it arrives, then completed, then followed by
        // another text frame: the validator must neither re-run nor skip bytes.
        let first = clientFrame(.text, "ab€cd" + String(repeating: "x", count: 100) + "🌍")
        let second = clientFrame(.text, "ü")
        var connection = makeConnection(.server)
        connection.receive(Array(first.prefix(12)))
        connection.receive(Array(first[12..<40]))
        connection.receive(Array(first[40...]) + second.prefix(3))
        connection.receive(Array(second.dropFirst(3)))
        #expect(
            connection.drainEvents() == [
                .message(.text("ab€cd" + String(repeating: "x", count: 100) + "🌍")), .message(.text("ü")),
            ]
        )
        #expect(connection.drainSent() == [])
    }
}
