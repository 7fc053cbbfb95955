import NIOCore
import Testing

@testable import CanalEngineIOCore

@Suite struct EngineSessionStateTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let configuration = EngineConfiguration(
        pingInterval: .milliseconds(100), pingTimeout: .milliseconds(50), upgradeTimeout: .milliseconds(200),
        maxPendingPackets: 3)

    func polling() -> EngineSessionState {
        EngineSessionState(id: "s", transport: .polling, configuration: configuration, now: start)
    }

    func message(_ text: String) -> EnginePacket { EnginePacket(.message, text: text) }

    @Test func pollWithNothingQueuedIsHeldThenAnsweredOnFlush() {
        var state = polling()
        #expect(state.pollArrived(now: start) == .hold)
        #expect(state.send(message("a")) == nil)
        #expect(state.send(message("b")) == nil)
        #expect(state.flushPoll() == .respondToPoll([message("a"), message("b")]))
        #expect(!state.isPollHeld)
    }

    @Test func pollWithPacketsQueuedIsAnsweredAtOnce() {
        var state = polling()
        _ = state.send(message("a"))
        #expect(state.pollArrived(now: start) == .respond([message("a")]))
    }

    @Test func secondPollWhileOneIsHeldClosesWithTransportError() {
        var state = polling()
        #expect(state.pollArrived(now: start) == .hold)
        #expect(state.pollArrived(now: start) == .rejectOverlap(actions: [.closed(.transportError)]))
        #expect(state.isClosed)
        #expect(state.pollArrived(now: start) == .closed)
    }

    @Test func serverPingsAfterIntervalAndTimesOutWithoutPong() {
        var state = polling()
        #expect(state.nextDeadline == start + .milliseconds(100))
        #expect(state.pollArrived(now: start) == .hold)
        let ping = state.tick(now: start + .milliseconds(100))
        #expect(ping == [.respondToPoll([.ping])])
        #expect(state.nextDeadline == start + .milliseconds(150))
        #expect(state.tick(now: start + .milliseconds(150)) == [.closed(.pingTimeout)])
    }

    @Test func pongSchedulesTheNextPing() {
        var state = polling()
        _ = state.tick(now: start + .milliseconds(100))
        #expect(state.receive(.pong, now: start + .milliseconds(120)) == nil)
        #expect(state.nextDeadline == start + .milliseconds(220))
        #expect(state.tick(now: start + .milliseconds(160)).isEmpty)
    }

    @Test func clientPingIsTransportError() {
        var state = polling()
        #expect(state.receive(.ping, now: start) == .closed(.transportError))
    }

    @Test func closePacketIsTransportClose() {
        var state = polling()
        #expect(state.receive(.close, now: start) == .closed(.transportClose))
    }

    @Test func messagesAreDelivered() {
        var state = polling()
        #expect(state.receive(message("hi"), now: start) == .deliver(.text(ByteBuffer(string: "hi"))))
        let binary = EnginePacket(.message, data: ByteBuffer(bytes: [9]), isBinary: true)
        #expect(state.receive(binary, now: start) == .deliver(.binary(ByteBuffer(bytes: [9]))))
    }

    @Test func tooManyPendingPacketsIsSlowConsumer() {
        var state = polling()
        for index in 0..<3 { #expect(state.send(message("\(index)")) == nil) }
        #expect(state.send(message("x")) == .closed(.slowConsumer))
    }

    @Test func upgradeProbeNoopThenSwitch() {
        var state = polling()
        #expect(state.pollArrived(now: start) == .hold)
        state.probeOpened(now: start)
        #expect(state.hasWebSocket)
        #expect(state.probeReceived(.probePing, now: start) == [.sendOnProbe(.probePong), .respondToPoll([.noop])])
        // A poll during the probe is released at once.
        #expect(state.pollArrived(now: start) == .respond([.noop]))
        _ = state.send(message("queued"))
        #expect(state.probeReceived(EnginePacket(.upgrade), now: start) == [.sendOnWebSocket([message("queued")])])
        #expect(state.transport == .websocket)
        #expect(state.sendsOnWebSocket)
        #expect(state.send(message("direct")) == .sendOnWebSocket([message("direct")]))
    }

    @Test func upgradeTimesOut() {
        var state = polling()
        state.probeOpened(now: start)
        let actions = state.tick(now: start + .milliseconds(200))
        #expect(actions.contains(.closeProbe))
        #expect(!state.isUpgrading)
        #expect(state.transport == .polling)
    }

    @Test func wrongPacketOnProbeAbandonsUpgrade() {
        var state = polling()
        state.probeOpened(now: start)
        #expect(state.probeReceived(message("x"), now: start) == [.closeProbe])
        #expect(!state.hasWebSocket)
    }

    @Test func serverCloseGivesHeldPollTheRestAndClose() {
        var state = polling()
        #expect(state.pollArrived(now: start) == .hold)
        _ = state.send(message("last"))
        #expect(state.close(now: start) == [.respondToPoll([message("last"), .close]), .closed(.forcedClose)])
    }

    @Test func serverCloseWaitsForTheNextPoll() {
        var state = polling()
        _ = state.send(message("last"))
        #expect(state.close(now: start).isEmpty)
        #expect(state.pollArrived(now: start) == .respond([message("last"), .close]))
        #expect(state.isClosed)
    }

    @Test func shutdownEndsTheSessionWithoutACloseForThePoll() {
        var state = polling()
        #expect(state.pollArrived(now: start) == .hold)
        _ = state.send(message("late"))
        #expect(state.abandon() == .closed(.serverShutdown))
        #expect(state.isClosed)
        #expect(state.abandon() == nil)
        #expect(state.nextDeadline == nil)
        #expect(state.pollArrived(now: start) == .closed)
    }

    @Test func webSocketSessionSendsDirectly() {
        var state = EngineSessionState(id: "w", transport: .websocket, configuration: configuration, now: start)
        #expect(state.openPacket.type == .open)
        #expect(state.sendsOnWebSocket)
        #expect(state.tick(now: start + .milliseconds(100)) == [.sendOnWebSocket([.ping])])
        #expect(state.transportLost() == .closed(.transportClose))
        #expect(state.nextDeadline == nil)
    }
}
