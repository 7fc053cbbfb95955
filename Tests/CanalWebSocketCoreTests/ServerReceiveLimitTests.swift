import NIOCore
import Testing

@testable import CanalWebSocketCore

/// A server endpoint enforcing its limits (RFC 6455 §10.4): 1009 for frames, messages and
/// fragment counts over the configured bounds, decided from the header whenever possible.
@Suite("Server receiving: limits")
struct ServerReceiveLimitTests {
    // MARK: Limits (1009)

    static func limits(frame: Int = 1 << 20, message: Int = 1 << 20, fragments: Int = 1024) -> WebSocketConfiguration {
        WebSocketConfiguration(maxFrameSize: frame, maxMessageSize: message, maxFragmentCount: fragments)
    }

    @Test(arguments: [WebSocketOpcode.text, .binary])
    func serverReceivesFrameOverMaxFrameSizeFailsWith1009(_ opcode: WebSocketOpcode) {
        let input = clientFrame(opcode, [UInt8](repeating: 0x61, count: 101))
        expectFailure(input, to: .server, code: 1009, .frameTooBig(101), configuration: Self.limits(frame: 100))
    }

    @Test
    func serverReceivesFrameOverMaxFrameSizeFailsBeforeThePayloadArrives() {
        let header = Array(clientFrame(.binary, [UInt8](repeating: 0, count: 70_000)).prefix(14))
        expectFailure(header, to: .server, code: 1009, .frameTooBig(70_000), configuration: Self.limits(frame: 65536))
    }

    @Test
    func serverReceivesFrameAtMaxFrameSizeDeliversIt() {
        let payload = [UInt8](repeating: 0x61, count: 100)
        let transcript = feed(clientFrame(.text, payload), to: .server, configuration: Self.limits(frame: 100))
        #expect(transcript.events == [.message(.text(String(repeating: "a", count: 100)))])
    }

    @Test
    func serverReceivesFrameOverMaxMessageSizeFailsWith1009() {
        // The frame is within the 1 MiB frame limit; the message it makes is over 50 bytes.
        let input = clientFrame(.binary, [UInt8](repeating: 1, count: 51))
        expectFailure(input, to: .server, code: 1009, .messageTooBig, configuration: Self.limits(message: 50))
    }

    @Test
    func serverReceivesMessageOverMaxMessageSizeAcrossFragmentsFailsWith1009() {
        let input =
            clientFrame(.binary, [UInt8](repeating: 1, count: 60), fin: false)
            + clientFrame(.continuation, [UInt8](repeating: 2, count: 41))
        expectFailure(
            input, to: .server, code: 1009, .messageTooBig, configuration: Self.limits(frame: 100, message: 100))
        // The continuation's header is enough to know.
        expectFailure(
            Array(input.prefix(66 + 6)),
            to: .server,
            code: 1009,
            .messageTooBig,
            configuration: Self.limits(frame: 100, message: 100)
        )
    }

    @Test
    func serverReceivesMessageAtMaxMessageSizeAcrossFragmentsDeliversIt() {
        let input =
            clientFrame(.text, [UInt8](repeating: 0x61, count: 60), fin: false)
            + clientFrame(.ping, "p")
            + clientFrame(.continuation, [UInt8](repeating: 0x62, count: 40))
        let transcript = feed(input, to: .server, configuration: Self.limits(frame: 100, message: 100))
        let text = String(repeating: "a", count: 60) + String(repeating: "b", count: 40)
        #expect(transcript.events == [.ping(ByteBuffer(string: "p")), .message(.text(text))])
    }

    @Test
    func serverReceivesMoreFragmentsThanMaxFragmentCountFailsWith1009() {
        let input =
            clientFrame(.text, "a", fin: false) + clientFrame(.continuation, "b", fin: false)
            + clientFrame(.continuation, "c", fin: false) + clientFrame(.continuation, "d")
        expectFailure(input, to: .server, code: 1009, .tooManyFragments, configuration: Self.limits(fragments: 3))
    }

    @Test
    func serverReceivesExactlyMaxFragmentCountFragmentsDeliversTheMessage() {
        let input =
            clientFrame(.text, "a", fin: false) + clientFrame(.continuation, "b", fin: false)
            + clientFrame(.continuation, "c")
        let transcript = feed(input, to: .server, configuration: Self.limits(fragments: 3))
        #expect(transcript.events == [.message(.text("abc"))])
    }

    @Test
    func serverReceivesControlFramesLargerThanMaxFrameSizeAcceptsThem() {
        // The 125-byte rule of §5.5 bounds control frames; the data limits do not apply.
        let payload = [UInt8](repeating: 0x70, count: 50)
        let transcript = feed(
            clientFrame(.ping, payload), to: .server, configuration: Self.limits(frame: 10, message: 10))
        #expect(transcript.events == [.ping(ByteBuffer(bytes: payload))])
        #expect(transcript.sent == [.bytes(serverFrame(.pong, payload))])
    }
}
