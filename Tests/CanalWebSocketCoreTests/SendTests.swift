import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import CanalWebSocketCore

/// What an endpoint puts on the wire: RFC 6455 §5.1-§5.5 from the sending side.
@Suite("Sending")
struct SendTests {
    static func payload(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
    }

    /// The concatenation of every write, as the peer would read it.
    static func wire(_ outputs: [WebSocketOutput]) -> [UInt8] {
        outputs.flatMap { output -> [UInt8] in
            guard case .bytes(let buffer) = output else { return [] }
            return buffer.bytes
        }
    }

    // MARK: §5.1 masking

    @Test
    func serverSendsRFCHelloUnmasked() {
        var connection = makeConnection(.server)
        must { try connection.send(.text("Hello")) }
        #expect(connection.drainSent() == [.bytes(hex("81 05 48 65 6c 6c 6f"))])
    }

    @Test
    func clientSendsRFCHelloMaskedWithTheInjectedKey() {
        var connection = makeConnection(.client)
        must { try connection.send(.text("Hello")) }
        #expect(connection.drainSent() == [.bytes(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"))])
    }

    @Test
    func clientSendsEveryFrameWithAFreshKey() {
        let counter = NIOLockedValueBox<UInt8>(0)
        var connection = WebSocketConnection(role: .client) {
            counter.withLockedValue { value in
                value &+= 1
                return WebSocketMaskingKey(value, value, value, value)
            }
        }
        must { try connection.send(.text("one")) }
        must { try connection.sendPing(ByteBuffer(string: "two")) }
        must { try connection.close() }
        let expected =
            clientFrame(.text, utf8("one"), key: [1, 1, 1, 1]) + clientFrame(.ping, utf8("two"), key: [2, 2, 2, 2])
            + clientFrame(.close, closeBody(1000), key: [3, 3, 3, 3])
        #expect(connection.drainSent() == [.bytes(expected)])
        #expect(counter.withLockedValue { $0 } == 3)
    }

    @Test
    func clientSendLeavesTheMessageBufferUnmasked() {
        var connection = makeConnection(.client)
        let data = ByteBuffer(string: "Hello")
        must { try connection.send(WebSocketMessage(kind: .text, data: data)) }
        #expect(data.bytes == utf8("Hello"))
        _ = connection.drainSent()
        #expect(data.bytes == utf8("Hello"))
    }

    @Test
    func serverNeverAsksForAMaskingKey() {
        let calls = NIOLockedValueBox(0)
        var connection = WebSocketConnection(role: .server) {
            calls.withLockedValue { $0 += 1 }
            return testMaskingKey
        }
        must { try connection.send(.binary(Self.payload(100))) }
        must { try connection.sendPing() }
        must { try connection.close() }
        #expect(calls.withLockedValue { $0 } == 0)
    }

    // MARK: §5.2 lengths

    @Test(arguments: [0, 1, 125, 126, 127, 65535, 65536, 70_000])
    func serverSendsBinaryOfEveryLengthClassWithTheShortestHeader(_ length: Int) {
        var connection = makeConnection(.server)
        let payload = Self.payload(length)
        must { try connection.send(.binary(payload)) }
        #expect(connection.drainSent() == [.bytes(serverFrame(.binary, payload))])
    }

    @Test(arguments: [0, 1, 125, 126, 127, 65535, 65536, 70_000])
    func clientSendsBinaryOfEveryLengthClassMasked(_ length: Int) {
        var connection = makeConnection(.client)
        let payload = Self.payload(length)
        must { try connection.send(.binary(payload)) }
        #expect(connection.drainSent() == [.bytes(clientFrame(.binary, payload))])
    }

    @Test(arguments: [WebSocketRole.server, .client], [0, 3, 125, 126, 65535, 65536, 100_000])
    func endpointSendsMessageThePeerDecodesUnchanged(_ role: WebSocketRole, _ length: Int) {
        var sender = makeConnection(role)
        let text = String(repeating: "é", count: length / 2) + String(repeating: "a", count: length % 2)
        must { try sender.send(.text(text)) }
        must { try sender.send(.binary(Self.payload(length))) }
        var receiver = makeConnection(role == .server ? .client : .server)
        for output in sender.drainOutputs() {
            if case .bytes(let buffer) = output { receiver.receive(buffer) }
        }
        #expect(receiver.drainEvents() == [.message(.text(text)), .message(.binary(Self.payload(length)))])
    }

    // MARK: Large payloads

    @Test
    func serverSendsPayloadOf16KiBAsItsOwnBuffer() {
        var connection = makeConnection(.server)
        let payload = Self.payload(16 * 1024)
        must { try connection.send(.binary(payload)) }
        let outputs = connection.drainOutputs()
        #expect(outputs == [.bytes(ByteBuffer(hex: "82 7E 40 00")), .bytes(ByteBuffer(bytes: payload))])
    }

    @Test
    func serverSendsPayloadJustUnder16KiBInOneBuffer() {
        var connection = makeConnection(.server)
        let payload = Self.payload(16 * 1024 - 1)
        must { try connection.send(.binary(payload)) }
        let outputs = connection.drainOutputs()
        #expect(outputs == [.bytes(ByteBuffer(bytes: serverFrame(.binary, payload)))])
    }

    @Test
    func serverSendsSmallLargeSmallInOrder() {
        var connection = makeConnection(.server)
        let large = Self.payload(100_000)
        must { try connection.send(.text("a")) }
        must { try connection.send(.binary(large)) }
        must { try connection.send(.text("b")) }
        must { try connection.sendPing(ByteBuffer(string: "c")) }
        let outputs = connection.drainOutputs()
        #expect(outputs.count == 3)
        #expect(
            outputs.first == .bytes(ByteBuffer(bytes: serverFrame(.text, "a") + hex("82 7F 00 00 00 00 00 01 86 A0"))))
        #expect(
            Self.wire(outputs)
                == serverFrame(.text, "a") + serverFrame(.binary, large) + serverFrame(.text, "b")
                + serverFrame(.ping, "c")
        )
    }

    @Test
    func serverSendsLargePayloadThenClosesInOrder() {
        var connection = makeConnection(.server)
        let large = Self.payload(20_000)
        must { try connection.send(.binary(large)) }
        must { try connection.close() }
        let outputs = connection.drainOutputs()
        #expect(Self.wire(outputs) == serverFrame(.binary, large) + serverFrame(.close, closeBody(1000)))
    }

    @Test
    func clientSendsLargePayloadMaskedInOneBuffer() {
        var connection = makeConnection(.client)
        let large = Self.payload(40_000)
        must { try connection.send(.binary(large)) }
        let outputs = connection.drainOutputs()
        #expect(outputs.count == 1)
        #expect(Self.wire(outputs) == clientFrame(.binary, large))
    }

    // MARK: §5.4 fragmentation on the way out

    static func fragmenting(_ size: Int?) -> WebSocketConfiguration {
        WebSocketConfiguration(outboundFragmentSize: size)
    }

    @Test
    func serverSendsWithFragmentSizeSplitsTheMessage() {
        var connection = makeConnection(.server, configuration: Self.fragmenting(2))
        must { try connection.send(.text("Hello")) }
        #expect(connection.drainSent() == [.bytes(hex("01 02 48 65  00 02 6c 6c  80 01 6f"))])
    }

    @Test
    func serverSendsWithFragmentSizeDividingTheMessageSendsNoEmptyFragment() {
        var connection = makeConnection(.server, configuration: Self.fragmenting(2))
        must { try connection.send(.text("Hell")) }
        #expect(connection.drainSent() == [.bytes(hex("01 02 48 65  80 02 6c 6c"))])
    }

    @Test(arguments: [nil, 0, 5, 100] as [Int?])
    func serverSendsMessageNoLargerThanFragmentSizeInOneFrame(_ size: Int?) {
        var connection = makeConnection(.server, configuration: Self.fragmenting(size))
        must { try connection.send(.text("Hello")) }
        #expect(connection.drainSent() == [.bytes(hex("81 05 48 65 6c 6c 6f"))])
    }

    @Test
    func clientSendsWithFragmentSizeMasksEveryFragment() {
        var connection = makeConnection(.client, configuration: Self.fragmenting(3))
        must { try connection.send(.binary([1, 2, 3, 4, 5, 6, 7])) }
        let expected =
            clientFrame(.binary, [1, 2, 3], fin: false) + clientFrame(.continuation, [4, 5, 6], fin: false)
            + clientFrame(.continuation, [7])
        #expect(connection.drainSent() == [.bytes(expected)])
    }

    @Test(arguments: [1, 7, 125, 126, 1000, 20_000])
    func serverSendsFragmentedMessageThePeerReassembles(_ size: Int) {
        var sender = makeConnection(.server, configuration: Self.fragmenting(size))
        let text = String(repeating: "zß€🌍", count: 700)
        must { try sender.send(.text(text)) }
        var receiver = makeConnection(.client, configuration: .conformance)
        for output in sender.drainOutputs() {
            if case .bytes(let buffer) = output { receiver.receive(buffer) }
        }
        #expect(receiver.drainEvents() == [.message(.text(text))])
        #expect(receiver.state == .open)
    }

    // MARK: control frames between the fragments of a large message

    @Test
    func serverSendingFragmentedMessageAnswersAPingBeforeTheRemainingFragments() {
        // RFC 6455 §5.4: control frames may be injected between fragments. The message
        // leaves a fragment at a time, so the pong waits behind one fragment, not all.
        var server = makeConnection(.server, configuration: Self.fragmenting(4))
        must { try server.send(.binary(Array(0..<16))) }
        #expect(server.hasDeferredOutput)
        guard case .bytes(let first)? = server.nextOutput() else {
            Issue.record("no first fragment")
            return
        }
        #expect(first.bytes == serverFrame(.binary, [0, 1, 2, 3], fin: false))
        server.receive(clientFrame(.ping, "p"))
        #expect(server.drainEvents() == [.ping(ByteBuffer(string: "p"))])
        #expect(
            server.drainSent() == [
                .bytes(
                    serverFrame(.pong, "p") + serverFrame(.continuation, [4, 5, 6, 7], fin: false)
                        + serverFrame(.continuation, [8, 9, 10, 11], fin: false)
                        + serverFrame(.continuation, [12, 13, 14, 15])
                )
            ]
        )
    }

    @Test
    func clientSendingFragmentedMessageWithoutRoomStillHandsOutItsPong() {
        // A driver whose transport is full asks without deferred data: the pong comes out,
        // the fragments wait.
        var client = makeConnection(.client, configuration: Self.fragmenting(3))
        must { try client.send(.binary([1, 2, 3, 4, 5, 6, 7])) }
        let beforePing = client.nextOutput(includingDeferredData: false)
        #expect(beforePing == nil)
        client.receive(serverFrame(.ping, "x"))
        _ = client.drainEvents()
        let pong = client.nextOutput(includingDeferredData: false)
        #expect(pong == .bytes(ByteBuffer(bytes: clientFrame(.pong, "x"))))
        let afterPong = client.nextOutput(includingDeferredData: false)
        #expect(afterPong == nil)
        #expect(
            client.drainSent() == [
                .bytes(
                    clientFrame(.binary, [1, 2, 3], fin: false) + clientFrame(.continuation, [4, 5, 6], fin: false)
                        + clientFrame(.continuation, [7])
                )
            ]
        )
    }

    @Test
    func serverMessagesAndCloseSentBehindAFragmentedMessageKeepTheirOrder() {
        var server = makeConnection(.server, configuration: Self.fragmenting(2))
        must { try server.send(.text("abcd")) }
        must { try server.send(.text("e")) }
        must { try server.sendPreEncoded(ByteBuffer(bytes: serverFrame(.text, "f"))) }
        must { try server.close(code: .normalClosure) }
        #expect(server.deferredSends.queued == 4)
        #expect(throws: WebSocketUsageError.notOpen) { try server.sendPing(ByteBuffer(string: "p")) }
        #expect(
            server.drainSent() == [
                .bytes(
                    serverFrame(.text, "ab", fin: false) + serverFrame(.continuation, "cd")
                        + serverFrame(.text, "e") + serverFrame(.text, "f") + serverFrame(.close, closeBody(1000))
                )
            ]
        )
        #expect(server.deferredSends.emitted == 4)
    }

    @Test
    func serverFailingWhileAFragmentedMessageWaitsSendsItsCloseAtOnceAndDropsTheRest() {
        var server = makeConnection(.server, configuration: Self.fragmenting(2))
        must { try server.send(.text("abcdef")) }
        _ = server.nextOutput()
        server.receive(clientFrame(.text, hex("C0 80")))
        _ = server.drainEvents()
        let error = WebSocketProtocolError(.invalidUTF8)
        #expect(server.drainSent() == [.bytes(serverFrame(.close, closeBody(1007, error.reason))), .shutdownOutput])
        #expect(server.deferredSends.discarded == 1)
    }

    // MARK: sendFragment

    @Test
    func serverSendsRFCFragmentsHelAndLo() {
        var connection = makeConnection(.server)
        must { try connection.sendFragment(ByteBuffer(string: "Hel"), kind: .text, isFinal: false) }
        must { try connection.sendFragment(ByteBuffer(string: "lo"), kind: .text, isFinal: true) }
        #expect(connection.drainSent() == [.bytes(hex("01 03 48 65 6c 80 02 6c 6f"))])
    }

    @Test
    func clientSendsFragmentsMaskedWithPingBetweenThem() {
        var connection = makeConnection(.client)
        must { try connection.sendFragment(ByteBuffer(bytes: [1]), kind: .binary, isFinal: false) }
        must { try connection.sendPing(ByteBuffer(string: "p")) }
        must { try connection.sendFragment(ByteBuffer(bytes: [2]), kind: .binary, isFinal: false) }
        must { try connection.sendFragment(ByteBuffer(), kind: .binary, isFinal: true) }
        let expected =
            clientFrame(.binary, [1], fin: false) + clientFrame(.ping, "p")
            + clientFrame(.continuation, [2], fin: false)
            + clientFrame(.continuation, [])
        #expect(connection.drainSent() == [.bytes(expected)])
    }

    @Test
    func sendDuringFragmentedMessageThrowsAndSendsNothing() {
        var connection = makeConnection(.server)
        must { try connection.sendFragment(ByteBuffer(string: "a"), kind: .text, isFinal: false) }
        _ = connection.drainSent()
        #expect(throws: WebSocketUsageError.fragmentSequence) { try connection.send(.text("b")) }
        #expect(!connection.hasOutput)
    }

    @Test
    func sendAfterTheFinalFragmentStartsANewMessage() {
        var connection = makeConnection(.server)
        must { try connection.sendFragment(ByteBuffer(string: "a"), kind: .text, isFinal: false) }
        must { try connection.sendFragment(ByteBuffer(string: "b"), kind: .text, isFinal: true) }
        must { try connection.send(.binary([9])) }
        must { try connection.sendFragment(ByteBuffer(string: "c"), kind: .text, isFinal: true) }
        let expected =
            serverFrame(.text, "a", fin: false) + serverFrame(.continuation, "b") + serverFrame(.binary, [9])
            + serverFrame(.text, "c")
        #expect(connection.drainSent() == [.bytes(expected)])
    }

    // MARK: §5.5 control frames

    @Test
    func serverSendsEmptyPingAndPong() {
        var connection = makeConnection(.server)
        must { try connection.sendPing() }
        must { try connection.sendPong() }
        #expect(connection.drainSent() == [.bytes(hex("89 00 8a 00"))])
    }

    @Test
    func clientSendsRFCMaskedPong() {
        var connection = makeConnection(.client)
        must { try connection.sendPong(ByteBuffer(string: "Hello")) }
        #expect(connection.drainSent() == [.bytes(hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"))])
    }

    @Test
    func sendingPingOrPongOf125BytesWorksAnd126Throws() {
        var connection = makeConnection(.server)
        let largest = ByteBuffer(bytes: Self.payload(125))
        must { try connection.sendPing(largest) }
        must { try connection.sendPong(largest) }
        #expect(
            connection.drainSent() == [
                .bytes(serverFrame(.ping, Self.payload(125)) + serverFrame(.pong, Self.payload(125)))
            ])
        let tooLong = ByteBuffer(bytes: Self.payload(126))
        #expect(throws: WebSocketUsageError.controlPayloadTooLong) { try connection.sendPing(tooLong) }
        #expect(throws: WebSocketUsageError.controlPayloadTooLong) { try connection.sendPong(tooLong) }
        #expect(!connection.hasOutput)
    }

    // MARK: Pre-encoded frames

    @Test
    func serverSendsPreEncodedFramesInOrderWithOthers() {
        var connection = makeConnection(.server)
        let shared = ByteBuffer(bytes: serverFrame(.text, "broadcast"))
        let large = ByteBuffer(bytes: serverFrame(.binary, Self.payload(20_000)))
        must { try connection.send(.text("before")) }
        must { try connection.sendPreEncoded(shared) }
        must { try connection.sendPreEncoded(large) }
        must { try connection.send(.text("after")) }
        let outputs = connection.drainOutputs()
        #expect(
            Self.wire(outputs)
                == serverFrame(.text, "before") + serverFrame(.text, "broadcast")
                + serverFrame(.binary, Self.payload(20_000))
                + serverFrame(.text, "after")
        )
        // The large pre-encoded buffer goes out as it is, without a copy into another buffer.
        #expect(outputs.contains(.bytes(large)))
    }

    @Test
    func clientSendingPreEncodedFramesThrows() {
        var connection = makeConnection(.client)
        #expect(throws: WebSocketUsageError.self) {
            try connection.sendPreEncoded(ByteBuffer(bytes: serverFrame(.text, "x")))
        }
        #expect(!connection.hasOutput)
    }

    @Test
    func hasOutputTellsWhetherNextOutputHasSomething() {
        var connection = makeConnection(.server)
        #expect(!connection.hasOutput)
        #expect(connection.nextOutput() == nil)
        must { try connection.send(.text("x")) }
        #expect(connection.hasOutput)
        #expect(connection.nextOutput() != nil)
        #expect(!connection.hasOutput)
        #expect(connection.nextOutput() == nil)
    }
}
