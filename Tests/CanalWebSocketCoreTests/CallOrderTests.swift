import NIOCore
import Testing

@testable import CanalWebSocketCore

/// The order a driver calls the core in (see `WebSocketConnection`, "Driving a connection"):
/// `receive(_:)` only finds frames; each is acted on, and any automatic reply (a pong, the
/// echo of a close frame) queued, when `nextEvent()` reaches it. So a driver drains the
/// events before it collects the output, as with python-websockets' `receive_data()`,
/// `events_received()` and `data_to_send()`.
@Suite("Call order: receive, then events, then output")
struct CallOrderTests {
    @Test(arguments: [WebSocketRole.server, .client])
    func endpointReceivesPingQueuesThePongWhenTheEventIsPulled(_ role: WebSocketRole) {
        var connection = makeConnection(role)
        connection.receive(frame(toward: role, .ping, utf8("hi")))
        #expect(!connection.hasOutput, "the ping is not acted on before nextEvent()")
        #expect(connection.nextOutput() == nil)

        #expect(connection.nextEvent() == .ping(ByteBuffer(string: "hi")))
        #expect(connection.hasOutput)
        #expect(connection.drainSent() == [.bytes(frame(sentBy: role, .pong, utf8("hi")))])
    }

    @Test
    func serverReceivesCloseEchoesItAndAsksToCloseWhenTheEventIsPulled() {
        var connection = makeConnection(.server)
        connection.receive(clientFrame(.close, closeBody(1000)))
        #expect(connection.state == .open)
        #expect(connection.nextOutput() == nil)

        #expect(connection.nextEvent() == .closeReceived(code: .normalClosure, reason: ""))
        #expect(connection.state == .closeHandshakeDone)
        #expect(connection.drainSent() == [.bytes(hex("88 02 03 E8")), .closeTransport])
    }

    @Test
    func serverAnswersAMessageBeforeALaterFrameOfTheSameReadFailsTheConnection() {
        // One read: a message, then an unmasked frame (RFC 6455 §5.1: 1002).
        var connection = makeConnection(.server)
        connection.receive(clientFrame(.text, "hi") + serverFrame(.text, "bad"))

        #expect(connection.nextEvent() == .message(.text("hi")))
        #expect(connection.state == .open, "the bad frame is not acted on yet")
        must { try connection.send(.text("re: hi")) }

        #expect(connection.nextEvent() == nil)
        #expect(connection.state == .failed)
        let reason = WebSocketProtocolError(.unmaskedClientFrame).reason
        #expect(
            connection.drainSent() == [
                .bytes(serverFrame(.text, "re: hi") + serverFrame(.close, closeBody(1002, reason))), .shutdownOutput,
            ]
        )
    }
}
