import NIOCore
import Testing

@testable import CanalEngineIOCore

@Suite struct EngineClientStateTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let handshakeJSON =
        #"{"sid":"abc","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
    let configuration = EngineClientConfiguration(
        openTimeout: .milliseconds(500), upgradeTimeout: .milliseconds(400), maxPendingPackets: 4)

    func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
    func message(_ text: String) -> EnginePacket { EnginePacket(.message, text: text) }
    func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }

    /// A polling session past its handshake, with the GET after it in flight.
    func openPolling(json: String? = nil, upgrade: Bool = true) -> EngineClientState {
        var configuration = self.configuration
        configuration.upgrade = upgrade
        var state = EngineClientState(configuration: configuration)
        _ = state.start(now: start)
        _ = state.pollResponded(body("0" + (json ?? handshakeJSON)), now: start)
        return state
    }

    // MARK: Handshake

    @Test func clientOpensOnPollingThenPollsAndProbes() {
        var state = EngineClientState(configuration: configuration)
        #expect(state.start(now: start) == [.openTransport(.polling)])
        let actions = state.pollResponded(body("0" + handshakeJSON), now: at(10))
        let handshake = EngineHandshake(sid: "abc", upgrades: ["websocket"], pingInterval: 300, pingTimeout: 200,
            maxPayload: 1_000_000)
        #expect(actions == [.opened(handshake), .openProbe, .poll])
        #expect(state.isOpen)
        #expect(state.transport == .polling)
    }

    @Test func clientWithoutUpgradeDoesNotProbe() {
        var state = openPolling(upgrade: false)
        #expect(!state.isUpgrading)
        #expect(state.send(message("a")) == [.post(body("4a"))])
    }

    @Test func serverOfferingNoUpgradeIsNotProbed() {
        var state = EngineClientState(configuration: configuration)
        _ = state.start(now: start)
        let actions = state.pollResponded(body(#"0{"sid":"x","upgrades":[],"pingInterval":1,"pingTimeout":1}"#), now: start)
        #expect(actions.count == 2)
        #expect(actions.last == .poll)
        #expect(!state.isUpgrading)
    }

    @Test func clientGettingAnotherPacketFirstFailsWithParseError() {
        var state = EngineClientState(configuration: configuration)
        _ = state.start(now: start)
        #expect(state.pollResponded(body("40"), now: start) == [.closeTransport, .closed(.parseError)])
        #expect(state.phase == .closed(.parseError))
    }

    @Test func clientGettingHandshakeWithoutSidFailsWithParseError() {
        var state = EngineClientState(configuration: configuration)
        _ = state.start(now: start)
        let actions = state.pollResponded(body(#"0{"upgrades":[],"pingInterval":1,"pingTimeout":1}"#), now: start)
        #expect(actions == [.closeTransport, .closed(.parseError)])
    }

    @Test func clientGettingNoHandshakeInTimeFailsWithTimeout() {
        var state = EngineClientState(configuration: configuration)
        _ = state.start(now: start)
        #expect(state.nextDeadline == at(500))
        #expect(state.tick(now: at(499)).isEmpty)
        #expect(state.tick(now: at(500)) == [.closeTransport, .closed(.openTimeout)])
        #expect(state.pollResponded(body("0" + handshakeJSON), now: at(501)).isEmpty)
    }

    @Test func clientGettingUndecodablePayloadFailsWithParseError() {
        var state = openPolling()
        #expect(state.pollResponded(body("4a\u{1e}9x"), now: start) == [.closeProbe, .closeTransport, .closed(.parseError)])
    }

    @Test func clientGettingPayloadOverLimitFailsWithParseError() {
        var configuration = self.configuration
        configuration.maxPayloadBytes = 8
        var state = EngineClientState(configuration: configuration)
        _ = state.start(now: start)
        #expect(state.pollResponded(body("0" + handshakeJSON), now: start) == [.closeTransport, .closed(.parseError)])
    }

    // MARK: Heartbeat

    @Test func clientAnswersPingWithPongAndPollsAgain() {
        var state = openPolling(upgrade: false)
        #expect(state.pollResponded(body("2"), now: at(100)) == [.post(body("3")), .poll])
    }

    @Test func clientWithoutPingWithinIntervalPlusTimeoutFailsWithPingTimeout() {
        var state = openPolling(upgrade: false)
        #expect(state.nextDeadline == at(500))
        _ = state.pollResponded(body("2"), now: at(300))
        #expect(state.nextDeadline == at(800))
        #expect(state.tick(now: at(799)).isEmpty)
        #expect(state.tick(now: at(800)) == [.closeTransport, .closed(.pingTimeout)])
    }

    @Test func clientOnWebSocketAnswersPingOnWebSocket() {
        var state = EngineClientState(configuration: EngineClientConfiguration(transports: [.websocket]))
        #expect(state.start(now: start) == [.openTransport(.websocket)])
        let opened = state.webSocketReceived(EnginePacket(.open, text: handshakeJSON), now: start)
        #expect(opened.count == 1)
        #expect(state.webSocketReceived(.ping, now: at(10)) == [.sendOnWebSocket([.pong])])
    }

    // MARK: Sending on polling

    @Test func clientBatchesPacketsWrittenWhilePostIsInFlight() {
        var state = openPolling(upgrade: false)
        #expect(state.send(message("a")) == [.post(body("4a"))])
        #expect(!state.isWritable)
        #expect(state.send(message("b")).isEmpty)
        #expect(state.send([message("c"), EnginePacket(.message, data: ByteBuffer(bytes: [1, 2]), isBinary: true)]).isEmpty)
        #expect(state.bufferedPacketCount == 3)
        #expect(state.postSucceeded(now: start) == [.post(body("4b\u{1e}4c\u{1e}bAQI="))])
        #expect(state.postSucceeded(now: start).isEmpty)
        #expect(state.isWritable)
    }

    @Test func clientSplitsBodiesAtServersMaxPayload() {
        let json = #"{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":6}"#
        var state = openPolling(json: json)
        #expect(state.send(message("a")) == [.post(body("4a"))])
        _ = state.send(message("bb"))
        _ = state.send(message("c"))
        _ = state.send(message("dddddddd"))
        #expect(state.postSucceeded(now: start) == [.post(body("4bb\u{1e}4c"))])
        // A packet bigger than maxPayload still goes, alone.
        #expect(state.postSucceeded(now: start) == [.post(body("4dddddddd"))])
    }

    @Test func clientSendsWhatWasWrittenBeforeTheHandshakeOnceOpen() {
        var state = EngineClientState(configuration: EngineClientConfiguration(transports: [.polling], upgrade: false))
        _ = state.start(now: start)
        #expect(state.send(message("early")).isEmpty)
        let actions = state.pollResponded(body("0" + handshakeJSON), now: start)
        #expect(actions.dropFirst() == [.post(body("4early")), .poll])
    }

    @Test func clientHoldingTooManyPacketsFailsWithTransportError() {
        var state = openPolling(upgrade: false)
        _ = state.send(message("0"))
        for index in 1...4 { #expect(state.send(message("\(index)")).isEmpty) }
        #expect(state.send(message("5")) == [.closeTransport, .closed(.transportError)])
    }

    @Test func clientWhosePollFailsEndsWithTransportError() {
        var state = openPolling(upgrade: false)
        #expect(state.pollFailed(now: start) == [.closeTransport, .closed(.transportError)])
        #expect(state.pollFailed(now: start).isEmpty)
    }

    @Test func clientWhosePostFailsEndsWithTransportError() {
        var state = openPolling(upgrade: false)
        _ = state.send(message("a"))
        #expect(state.postFailed(now: start) == [.closeTransport, .closed(.transportError)])
    }

    @Test func serverClosePacketEndsWithTransportClose() {
        var state = openPolling(upgrade: false)
        #expect(state.pollResponded(body("4last\u{1e}1"), now: start)
            == [.deliver(.text(body("last"))), .closeTransport, .closed(.transportClose)])
    }

    @Test func clientDeliversTextAndBinaryMessagesInOrder() {
        var state = openPolling(upgrade: false)
        let actions = state.pollResponded(body("4one\u{1e}bAP8=\u{1e}6\u{1e}4two"), now: start)
        #expect(actions == [
            .deliver(.text(body("one"))), .deliver(.binary(ByteBuffer(bytes: [0, 255]))),
            .deliver(.text(body("two"))), .poll,
        ])
    }

    // MARK: Upgrade

    @Test func clientUpgradesAfterProbeAndPollReturning() {
        var state = openPolling()
        #expect(state.isUpgrading)
        #expect(state.probeOpened(now: at(5)) == [.sendOnProbe(.probePing)])
        // Still on polling while the probe runs.
        #expect(state.send(message("during-probe")) == [.post(body("4during-probe"))])
        #expect(state.postSucceeded(now: at(6)).isEmpty)
        // 3probe: polling pauses, the GET in flight must come back first.
        #expect(state.probeReceived(.probePong, now: at(7)).isEmpty)
        #expect(!state.isWritable)
        #expect(state.send(message("paused")).isEmpty)
        let actions = state.pollResponded(body("6"), now: at(8))
        #expect(actions == [.sendOnProbe(EnginePacket(.upgrade)), .promoteProbe, .sendOnWebSocket([message("paused")])])
        #expect(state.transport == .websocket)
        #expect(!state.isUpgrading)
        #expect(state.send(message("after")) == [.sendOnWebSocket([message("after")])])
        #expect(state.webSocketReceived(message("hi"), now: at(9)) == [.deliver(.text(body("hi")))])
    }

    @Test func clientUpgradeWaitsForPostInFlight() {
        var state = openPolling()
        _ = state.probeOpened(now: start)
        #expect(state.send(message("a")) == [.post(body("4a"))])
        _ = state.probeReceived(.probePong, now: start)
        #expect(state.pollResponded(body("6"), now: start).isEmpty)
        #expect(state.postSucceeded(now: start) == [.sendOnProbe(EnginePacket(.upgrade)), .promoteProbe])
    }

    @Test func clientAbandonsProbeAnsweredWithAnythingElse() {
        var state = openPolling()
        _ = state.probeOpened(now: start)
        #expect(state.probeReceived(message("x"), now: start) == [.closeProbe])
        #expect(state.transport == .polling)
        #expect(state.send(message("a")) == [.post(body("4a"))])
    }

    @Test func clientAbandonsProbeNotFinishedInTime() {
        var state = openPolling()
        _ = state.probeOpened(now: start)
        #expect(state.nextDeadline == at(400))
        #expect(state.tick(now: at(400)) == [.closeProbe])
        #expect(!state.isUpgrading)
        #expect(state.probeReceived(.probePong, now: at(401)).isEmpty)
    }

    @Test func clientDeliversWhatTheLastPollBringsThenUpgrades() {
        var state = openPolling()
        _ = state.probeOpened(now: start)
        _ = state.probeReceived(.probePong, now: start)
        _ = state.send(message("held"))
        #expect(state.pollResponded(body("4x"), now: start) == [
            .deliver(.text(body("x"))), .sendOnProbe(EnginePacket(.upgrade)), .promoteProbe,
            .sendOnWebSocket([message("held")]),
        ])
    }

    @Test func clientWhoseProbeDropsWhilePausedKeepsPolling() {
        var state = openPolling()
        _ = state.probeOpened(now: start)
        _ = state.probeReceived(.probePong, now: start)
        _ = state.send(message("held"))
        // The GET is still in flight: no second one; the held packet goes out at once.
        #expect(state.probeFailed(now: start) == [.post(body("4held"))])
        #expect(state.transport == .polling)
        #expect(state.pollResponded(body("6"), now: start) == [.poll])
    }

    @Test func clientWhoseProbeDropsWhilePausedWithNothingInFlightPollsAndPostsAgain() {
        var state = openPolling()
        _ = state.probeOpened(now: start)
        #expect(state.send(message("a")) == [.post(body("4a"))])
        _ = state.probeReceived(.probePong, now: start)
        // The GET came back (paused, so no new one); the POST is still in flight.
        #expect(state.pollResponded(body("6"), now: start).isEmpty)
        _ = state.send(message("b"))
        #expect(state.probeFailed(now: start) == [.poll])
        #expect(state.postSucceeded(now: start) == [.post(body("4b"))])
    }

    @Test func clientWhoseProbeCannotOpenStaysOnPolling() {
        var state = openPolling()
        #expect(state.probeFailed(now: start).isEmpty)
        #expect(!state.isUpgrading)
        #expect(state.probeOpened(now: start) == [.closeProbe])
    }

    // MARK: Closing

    @Test func clientClosingOnIdlePollingPostsClosePacket() {
        var state = openPolling(upgrade: false)
        #expect(state.close(now: start) == [.post(body("1")), .closeTransport, .closed(.forcedClose)])
        #expect(state.close(now: start).isEmpty)
        #expect(state.send(message("late")).isEmpty)
    }

    @Test func clientClosingWithPostInFlightSendsClosePacketAfterIt() {
        var state = openPolling(upgrade: false)
        #expect(state.send(message("bye")) == [.post(body("4bye"))])
        _ = state.send(message("last"))
        #expect(state.close(now: start) == [.closeTransport, .closed(.forcedClose)])
        #expect(state.isPosting)
        #expect(state.postSucceeded(now: start) == [.post(body("4last\u{1e}1"))])
        #expect(state.isPosting, "the last POST is on its way")
        #expect(state.postSucceeded(now: start).isEmpty)
        #expect(!state.isPosting)
    }

    @Test func clientClosingDuringProbeClosesProbeToo() {
        var state = openPolling()
        #expect(state.close(now: start) == [.closeProbe, .post(body("1")), .closeTransport, .closed(.forcedClose)])
    }

    @Test func clientClosingOnWebSocketSendsClosePacket() {
        var state = EngineClientState(configuration: EngineClientConfiguration(transports: [.websocket]))
        _ = state.start(now: start)
        _ = state.webSocketReceived(EnginePacket(.open, text: handshakeJSON), now: start)
        #expect(state.close(now: start) == [.sendOnWebSocket([.close]), .closeTransport, .closed(.forcedClose)])
    }

    @Test func clientClosingWhileOpeningCancelsTheAttempt() {
        var state = EngineClientState(configuration: configuration)
        _ = state.start(now: start)
        #expect(state.close(now: start) == [.closeTransport, .closed(.forcedClose)])
    }

    @Test func webSocketLostBeforeOpenIsTransportErrorAfterIsTransportClose() {
        var opening = EngineClientState(configuration: EngineClientConfiguration(transports: [.websocket]))
        _ = opening.start(now: start)
        #expect(opening.webSocketClosed(now: start) == [.closeTransport, .closed(.transportError)])
        var open = EngineClientState(configuration: EngineClientConfiguration(transports: [.websocket]))
        _ = open.start(now: start)
        _ = open.webSocketReceived(EnginePacket(.open, text: handshakeJSON), now: start)
        #expect(open.webSocketClosed(now: start) == [.closeTransport, .closed(.transportClose)])
    }

    @Test func webSocketGarbageIsParseError() {
        var state = EngineClientState(configuration: EngineClientConfiguration(transports: [.websocket]))
        _ = state.start(now: start)
        _ = state.webSocketReceived(EnginePacket(.open, text: handshakeJSON), now: start)
        #expect(state.receivedGarbage() == [.closeTransport, .closed(.parseError)])
    }

    @Test func handshakeParsesWithoutMaxPayloadAndRejectsNegativeTimings() {
        let old = EngineHandshake(openPacketData: body(#"{"sid":"s","upgrades":[],"pingInterval":1,"pingTimeout":2}"#))
        #expect(old?.maxPayload == nil)
        #expect(old?.heartbeatTimeout == .milliseconds(3))
        #expect(EngineHandshake(openPacketData: body(#"{"sid":"s","pingInterval":-1,"pingTimeout":2}"#)) == nil)
        #expect(EngineHandshake(openPacketData: body("not json")) == nil)
    }
}
