import NIOCore
import Testing

@testable import CanalWebSocketCore

/// The closing handshake: RFC 6455 §5.5.1, §7.1-§7.4.
@Suite("§5.5.1 and §7 closing handshake")
struct CloseHandshakeTests {
    static func closed(
        _ code: UInt16,
        _ reason: String = "",
        clean: Bool,
        error: WebSocketProtocolError? = nil
    ) -> WebSocketEvent {
        .closed(WebSocketCloseStatus(code: WebSocketCloseCode(code), reason: reason, wasClean: clean, error: error))
    }

    static func closeReceived(_ code: UInt16?, _ reason: String = "") -> WebSocketEvent {
        .closeReceived(code: code.map { WebSocketCloseCode($0) }, reason: reason)
    }

    // MARK: Peer-initiated close

    @Test
    func serverReceivesCloseEchoesTheCodeThenShutsDownOutput() {
        let transcript = feed(clientFrame(.close, closeBody(1000, "bye")), to: .server, thenEOF: true)
        #expect(transcript.events == [Self.closeReceived(1000, "bye"), Self.closed(1000, "bye", clean: true)])
        // RFC 6455 §5.5.1 echoes the code; §7.1.1: the server closes the TCP connection first.
        #expect(transcript.sent == [.bytes(hex("88 02 03 E8")), .closeTransport])
        #expect(transcript.stateAfterInput == .closeHandshakeDone)
        #expect(transcript.state == .closed)
    }

    @Test
    func clientReceivesCloseEchoesTheCodeMaskedAndWaitsForTheServerToClose() {
        let transcript = feed(serverFrame(.close, closeBody(1001, "away")), to: .client, thenEOF: true)
        #expect(transcript.events == [Self.closeReceived(1001, "away"), Self.closed(1001, "away", clean: true)])
        #expect(
            transcript.sent == [.bytes(hex("88 82 37 FA 21 3D") + naiveMask(hex("03 E9"), key: testMaskingKeyBytes))])
        #expect(transcript.stateAfterInput == .closeHandshakeDone)
    }

    @Test(arguments: [WebSocketRole.server, .client])
    func endpointReceivesEmptyCloseEchoesAnEmptyCloseAndReports1005(_ role: WebSocketRole) {
        let transcript = feed(frame(toward: role, .close, []), to: role, thenEOF: true)
        #expect(transcript.events == [Self.closeReceived(nil), Self.closed(1005, clean: true)])
        let echo = Sent.bytes(frame(sentBy: role, .close, []))
        #expect(transcript.sent == (role == .server ? [echo, .closeTransport] : [echo]))
    }

    @Test
    func serverReceivesCloseDuringFragmentedMessageDropsTheUnfinishedMessage() {
        let input = clientFrame(.text, "never", fin: false) + clientFrame(.close, closeBody(1000))
        let transcript = feed(input, to: .server, thenEOF: true)
        #expect(transcript.events == [Self.closeReceived(1000), Self.closed(1000, clean: true)])
    }

    @Test
    func serverIgnoresEverythingAfterThePeersClose() {
        // RFC 6455 §5.5.1: the close frame is the last thing the peer sends.
        let input =
            clientFrame(.close, closeBody(1000)) + clientFrame(.text, "late") + clientFrame(.ping, "p")
            + serverFrame(.text, "even an unmasked one")
        let transcript = feed(input, to: .server)
        #expect(transcript.events == [Self.closeReceived(1000)])
        #expect(transcript.sent == [.bytes(serverFrame(.close, closeBody(1000))), .closeTransport])
        #expect(transcript.state == .closeHandshakeDone)
    }

    @Test
    func serverIgnoresFramesAfterCloseEvenWhenReadsArriveBeforeEventsArePulled() {
        var connection = makeConnection(.server)
        connection.receive(clientFrame(.close, closeBody(1000)))
        connection.receive(clientFrame(.text, "late"))
        connection.receive(serverFrame(.text, "unmasked, but ignored"))
        #expect(connection.drainEvents() == [Self.closeReceived(1000)])
        #expect(connection.drainSent() == [.bytes(serverFrame(.close, closeBody(1000))), .closeTransport])
        #expect(connection.state == .closeHandshakeDone)
    }

    @Test
    func serverReceivesCloseThenEOFBeforeEventsArePulledReportsBothInOrder() {
        var connection = makeConnection(.server)
        connection.receive(clientFrame(.text, "last words") + clientFrame(.close, closeBody(1000)))
        connection.receiveEOF()
        #expect(
            connection.drainEvents() == [
                .message(.text("last words")), Self.closeReceived(1000), Self.closed(1000, clean: true),
            ]
        )
    }

    // MARK: Locally initiated close

    @Test
    func serverClosesThenClientRepliesCompletesTheHandshakeAndShutsDownOutput() {
        let transcript = feed(clientFrame(.close, closeBody(1001)), to: .server, thenEOF: true) { connection in
            must { try connection.close(code: .goingAway, reason: "bye") }
            #expect(connection.state == .closeSent)
            #expect(connection.isClosing)
            #expect(!connection.isOpen)
        }
        #expect(transcript.events == [Self.closeReceived(1001), Self.closed(1001, clean: true)])
        // No second close frame: the peer's was the reply.
        #expect(transcript.sent == [.bytes(hex("88 05 03 E9") + utf8("bye")), .closeTransport])
        #expect(transcript.stateAfterInput == .closeHandshakeDone)
    }

    @Test
    func clientClosesThenServerRepliesCompletesTheHandshakeWithoutShuttingDown() {
        let transcript = feed(serverFrame(.close, closeBody(1000, "ok")), to: .client, thenEOF: true) { connection in
            must { try connection.close() }
        }
        #expect(transcript.events == [Self.closeReceived(1000, "ok"), Self.closed(1000, "ok", clean: true)])
        #expect(transcript.sent == [.bytes(clientFrame(.close, closeBody(1000)))])
        #expect(transcript.stateAfterInput == .closeHandshakeDone)
    }

    @Test
    func serverClosesThenClientRepliesWithEmptyCloseReports1005() {
        let transcript = feed(clientFrame(.close, []), to: .server, thenEOF: true) { connection in
            must { try connection.close(code: .normalClosure) }
        }
        #expect(transcript.events == [Self.closeReceived(nil), Self.closed(1005, clean: true)])
    }

    @Test
    func serverClosesThenStillDeliversMessagesUntilTheClientsClose() {
        // RFC 6455 §7.1.2: the peer may still be sending when our close frame arrives.
        let input = clientFrame(.text, "late", fin: false) + clientFrame(.continuation, "r") + clientFrame(.close, [])
        let transcript = feed(input, to: .server) { connection in
            must { try connection.close() }
        }
        #expect(transcript.events == [.message(.text("later")), Self.closeReceived(nil)])
        #expect(transcript.sent == [.bytes(serverFrame(.close, closeBody(1000))), .closeTransport])
    }

    @Test
    func serverReceivesPingAfterSendingCloseStillRepliesWithPong() {
        // RFC 6455 §5.5.2: a ping MUST be answered "unless it already received a Close frame";
        // after sending close only data frames are forbidden (§5.5.1), not pongs.
        let transcript = feed(clientFrame(.ping, "still there?"), to: .server) { connection in
            must { try connection.close() }
        }
        #expect(transcript.events == [.ping(ByteBuffer(string: "still there?"))])
        #expect(
            transcript.sent == [.bytes(serverFrame(.close, closeBody(1000)) + serverFrame(.pong, "still there?"))]
        )
    }

    @Test
    func closeSentThenEOFWithoutReplyEndsUncleanWith1006() {
        let transcript = feed([], to: .server, thenEOF: true) { connection in
            must { try connection.close() }
        }
        #expect(transcript.events == [Self.closed(1006, clean: false)])
    }

    @Test(arguments: [WebSocketRole.server, .client])
    func closeSentThenTimeoutEndsUncleanWith1006(_ role: WebSocketRole) {
        var connection = makeConnection(role)
        must { try connection.close() }
        _ = connection.drainSent()
        connection.closeTimeoutElapsed()
        #expect(connection.drainEvents() == [Self.closed(1006, clean: false)])
        #expect(connection.state == .closed)
        #expect(!connection.isClosing)
        #expect(connection.drainSent() == [])
    }

    @Test
    func closeHandshakeDoneThenTimeoutEndsCleanWithThePeersCode() {
        // RFC 6455 §7.1.5: closed cleanly once both close frames were exchanged, even if the
        // transport then had to be torn down by the timer.
        var connection = makeConnection(.client)
        connection.receive(serverFrame(.close, closeBody(1000)))
        _ = connection.drainEvents()
        #expect(connection.isClosing)
        connection.closeTimeoutElapsed()
        #expect(connection.drainEvents() == [Self.closed(1000, clean: true)])
    }

    @Test
    func failedThenTimeoutEndsUncleanWithTheError() {
        var connection = makeConnection(.server)
        connection.receive(serverFrame(.text, "unmasked"))
        #expect(connection.drainEvents() == [])
        #expect(connection.state == .failed)
        #expect(connection.isClosing)
        connection.closeTimeoutElapsed()
        let error = WebSocketProtocolError(.unmaskedClientFrame)
        #expect(connection.drainEvents() == [Self.closed(1006, clean: false, error: error)])
    }

    // MARK: Transport ending

    @Test(arguments: [WebSocketRole.server, .client])
    func endpointReceivesEOFWhileOpenEndsUncleanWith1006(_ role: WebSocketRole) {
        let transcript = feed(frame(toward: role, .text, utf8("half"), fin: false), to: role, thenEOF: true)
        #expect(transcript.events == [Self.closed(1006, clean: false)])
        #expect(transcript.sent == [])
        #expect(transcript.state == .closed)
    }

    @Test
    func endpointReportsClosedOnceWhateverEndsIt() {
        var connection = makeConnection(.server)
        connection.receiveEOF()
        connection.receiveEOF()
        connection.closeTimeoutElapsed()
        #expect(connection.drainEvents() == [Self.closed(1006, clean: false)])
        connection.receive(clientFrame(.text, "after the end"))
        #expect(connection.drainEvents() == [])
        #expect(connection.drainSent() == [])
    }

    @Test
    func failedThenPeersCloseReplyIsIgnoredAndTheEndIsUnclean() {
        // After failing, input is discarded (RFC 6455 §7.1.7), the peer's close included.
        let error = WebSocketProtocolError(.invalidUTF8)
        expectFailure(
            clientFrame(.text, hex("FF")) + clientFrame(.close, closeBody(1002)),
            to: .server,
            code: 1007,
            .invalidUTF8
        )
        let transcript = feed(
            clientFrame(.text, hex("FF")) + clientFrame(.close, closeBody(1002)), to: .server, thenEOF: true)
        #expect(transcript.events == [Self.closed(1006, clean: false, error: error)])
    }

    @Test
    func failingAfterSendingCloseSendsNoSecondCloseFrame() {
        let transcript = feed(clientFrame(.text, hex("C0 80")), to: .server, thenEOF: true) { connection in
            must { try connection.close(code: .goingAway) }
        }
        #expect(transcript.sent == [.bytes(serverFrame(.close, closeBody(1001))), .shutdownOutput])
        #expect(transcript.stateAfterInput == .failed)
        #expect(transcript.events == [Self.closed(1006, clean: false, error: WebSocketProtocolError(.invalidUTF8))])
    }

    // MARK: Close frame contents (§5.5.1, §7.4)

    @Test(arguments: [WebSocketRole.server, .client])
    func endpointReceivesCloseWithOneBytePayloadFailsWith1002(_ role: WebSocketRole) {
        expectFailure(frame(toward: role, .close, [0x03]), to: role, code: 1002, .closePayloadOfOneByte)
    }

    @Test(arguments: [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] as [UInt16])
    func serverReceivesCloseWithInvalidCodeFailsWith1002(_ code: UInt16) {
        expectFailure(clientFrame(.close, closeBody(code, "x")), to: .server, code: 1002, .invalidCloseCode(code))
    }

    @Test(
        arguments: [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
        ] as [UInt16])
    func serverReceivesCloseWithValidCodeEchoesIt(_ code: UInt16) {
        let transcript = feed(clientFrame(.close, closeBody(code, "why")), to: .server)
        #expect(transcript.events == [Self.closeReceived(code, "why")])
        #expect(transcript.sent == [.bytes(serverFrame(.close, closeBody(code))), .closeTransport])
    }

    @Test(arguments: ["FF", "ED A0 80", "C0 80", "F4 90 80 80", "61 E2 82"])
    func serverReceivesCloseWithInvalidUTF8ReasonFailsWith1007(_ reason: String) {
        expectFailure(
            clientFrame(.close, closeBody(1000) + hex(reason)),
            to: .server,
            code: 1007,
            .invalidCloseReasonUTF8
        )
    }

    @Test
    func serverReceivesCloseWithMultilingualReasonReportsIt() {
        let reason = "日本語 ✓ 🌍 ok"
        let transcript = feed(clientFrame(.close, closeBody(4001, reason)), to: .server, thenEOF: true)
        #expect(transcript.events == [Self.closeReceived(4001, reason), Self.closed(4001, reason, clean: true)])
    }

    @Test
    func serverReceivesCloseWith123ByteReasonReportsIt() {
        let reason = String(repeating: "r", count: 123)
        let transcript = feed(clientFrame(.close, closeBody(1000, reason)), to: .server)
        #expect(transcript.events == [Self.closeReceived(1000, reason)])
    }

    // MARK: close(code:reason:)

    @Test
    func serverClosesWithCodeAndReasonSendsThem() {
        var connection = makeConnection(.server)
        must { try connection.close(code: WebSocketCloseCode(4000), reason: "bye") }
        #expect(connection.drainSent() == [.bytes(hex("88 05 0F A0 62 79 65"))])
        #expect(connection.state == .closeSent)
    }

    @Test
    func clientClosesWithDefaultCodeSendsMasked1000() {
        var connection = makeConnection(.client)
        must { try connection.close() }
        #expect(
            connection.drainSent() == [
                .bytes(hex("88 82 37 FA 21 3D") + naiveMask(hex("03 E8"), key: testMaskingKeyBytes))
            ])
    }

    @Test
    func closeWithoutCodeSendsAnEmptyCloseFrame() {
        var connection = makeConnection(.server)
        must { try connection.close(code: nil) }
        #expect(connection.drainSent() == [.bytes(hex("88 00"))])
    }

    @Test
    func closeWithoutCodeButWithReasonThrows() {
        var connection = makeConnection(.server)
        #expect(throws: WebSocketUsageError.closeCodeNotSendable) { try connection.close(code: nil, reason: "why") }
        #expect(connection.state == .open)
        #expect(!connection.hasOutput)
    }

    @Test(arguments: [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] as [UInt16])
    func closeWithUnsendableCodeThrowsAndSendsNothing(_ code: UInt16) {
        var connection = makeConnection(.server)
        #expect(throws: WebSocketUsageError.closeCodeNotSendable) {
            try connection.close(code: WebSocketCloseCode(code))
        }
        #expect(connection.state == .open)
        #expect(!connection.hasOutput)
    }

    @Test
    func closeWithReasonOver123BytesThrows() {
        var connection = makeConnection(.server)
        #expect(throws: WebSocketUsageError.closeReasonTooLong) {
            try connection.close(reason: String(repeating: "a", count: 124))
        }
        // Bytes count, not characters: 62 × "é" is 124 bytes.
        #expect(throws: WebSocketUsageError.closeReasonTooLong) {
            try connection.close(reason: String(repeating: "é", count: 62))
        }
        #expect(connection.state == .open)
        #expect(!connection.hasOutput)
    }

    @Test
    func closeWith123ByteReasonSendsA125BytePayload() {
        var connection = makeConnection(.server)
        let reason = String(repeating: "é", count: 61) + "a"
        must { try connection.close(reason: reason) }
        #expect(connection.drainSent() == [.bytes(hex("88 7D 03 E8") + utf8(reason))])
    }

    @Test
    func closeTwiceSendsOneCloseFrame() {
        var connection = makeConnection(.server)
        must { try connection.close() }
        must { try connection.close(code: .goingAway) }
        #expect(connection.drainSent() == [.bytes(serverFrame(.close, closeBody(1000)))])
    }

    @Test
    func closeAfterThePeersCloseSendsNothingMore() {
        var connection = makeConnection(.server)
        connection.receive(clientFrame(.close, closeBody(1000)))
        #expect(connection.drainEvents() == [Self.closeReceived(1000)])
        _ = connection.drainSent()
        must { try connection.close() }
        #expect(connection.drainSent() == [])
    }

    // MARK: Sending after close

    static func expectSendingThrowsNotOpen(
        _ connection: inout WebSocketConnection, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(throws: WebSocketUsageError.notOpen, sourceLocation: sourceLocation) {
            try connection.send(.text("x"))
        }
        #expect(throws: WebSocketUsageError.notOpen, sourceLocation: sourceLocation) {
            try connection.sendFragment(ByteBuffer(string: "x"), kind: .text, isFinal: true)
        }
        #expect(throws: WebSocketUsageError.notOpen, sourceLocation: sourceLocation) {
            try connection.sendPing()
        }
        #expect(throws: WebSocketUsageError.notOpen, sourceLocation: sourceLocation) {
            try connection.sendPong()
        }
        #expect(!connection.hasOutput, sourceLocation: sourceLocation)
    }

    @Test(arguments: [WebSocketRole.server, .client])
    func sendingAfterCloseThrows(_ role: WebSocketRole) {
        var connection = makeConnection(role)
        must { try connection.close() }
        _ = connection.drainSent()
        Self.expectSendingThrowsNotOpen(&connection)
    }

    @Test
    func sendingAfterThePeersCloseThrows() {
        var connection = makeConnection(.server)
        connection.receive(clientFrame(.close, []))
        #expect(connection.drainEvents() == [Self.closeReceived(nil)])
        _ = connection.drainSent()
        Self.expectSendingThrowsNotOpen(&connection)
    }

    @Test
    func sendingAfterFailingThrows() {
        var connection = makeConnection(.server)
        connection.receive(clientFrame(.binary, [], rsv: 0x20))
        #expect(connection.drainEvents() == [])
        #expect(connection.state == .failed)
        _ = connection.drainSent()
        Self.expectSendingThrowsNotOpen(&connection)
    }

    @Test
    func sendingAfterEOFThrows() {
        var connection = makeConnection(.client)
        connection.receiveEOF()
        Self.expectSendingThrowsNotOpen(&connection)
    }

    // MARK: fail(_:)

    @Test
    func applicationFailsWithExtensionErrorSends1002WithoutTheDetail() {
        var connection = makeConnection(.server)
        connection.fail(.extensionFailure("zlib stream error -3 at offset 1234"))
        #expect(
            connection.drainSent() == [
                .bytes(serverFrame(.close, closeBody(1002, "extension error"))), .shutdownOutput,
            ])
        #expect(connection.state == .failed)
        connection.receiveEOF()
        let events = connection.drainEvents()
        #expect(events.count == 1)
        if case .closed(let status) = events.first {
            #expect(status.error == .extensionFailure("zlib stream error -3 at offset 1234"))
            #expect(status.code.rawValue == 1006)
        }
    }

    @Test
    func failureCloseFrameDecodesToTheErrorsCode() {
        var connection = makeConnection(.client)
        connection.receive(serverFrame(.text, hex("FF")))
        #expect(connection.drainEvents() == [])
        guard case .bytes(let bytes)? = connection.drainSent().first else {
            Issue.record("no close frame")
            return
        }
        #expect(closeCode(inFrame: bytes) == 1007)
    }
}
