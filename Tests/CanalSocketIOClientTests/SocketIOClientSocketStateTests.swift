import CanalSocketIOCore
import NIOCore
import Testing

@testable import CanalSocketIOClient

@Suite struct SocketIOClientSocketStateTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    typealias State = SocketIOClientSocketState

    func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }

    func make(
        namespace: String = "/", maximum: Int = 3, overflow: SocketIOClientConfiguration.OfflineBuffer.Overflow = .dropNewest
    ) -> State {
        State(
            namespace: namespace,
            offlineLimits: .init(maximumPackets: maximum, overflow: overflow),
            connectTimeout: .milliseconds(500))
    }

    func connected(_ answer: SocketIOValue = ["sid": "s1"], namespace: String = "/") -> State {
        var state = make(namespace: namespace)
        _ = state.connect(engineOpen: true, auth: nil, now: start)
        _ = state.received(SocketIOPacket(type: .connect, namespace: namespace, data: answer), now: start)
        return state
    }

    func event(_ arguments: SocketIOValue..., id: Int? = nil) -> SocketIOPacket {
        SocketIOPacket(type: .event, id: id, data: .array(arguments))
    }

    // MARK: Connecting

    @Test func clientSendsConnectWithAuthOnceEngineOpens() {
        var state = make(namespace: "/admin")
        #expect(state.connect(engineOpen: false, auth: ["role": "admin"], now: start).isEmpty)
        #expect(state.isActive)
        let actions = state.engineOpened(auth: ["role": "admin"], now: start)
        #expect(actions == [.send(SocketIOPacket(type: .connect, namespace: "/admin", data: ["role": "admin"]))])
        #expect(state.nextDeadline == at(500))
    }

    @Test func clientConnectedByAnswerFlushesOfflineBufferBeforeReportingIt() {
        var state = make()
        _ = state.emit("early", arguments: [1], wantsAck: false, ackTimeout: nil, volatile: false, writable: false, now: start)
        _ = state.connect(engineOpen: true, auth: nil, now: start)
        let actions = state.received(SocketIOPacket(type: .connect, data: ["sid": "abc"]), now: start)
        #expect(actions == [
            .send(SocketIOPacket(type: .event, data: ["early", 1])),
            .connected(id: "abc", privateID: nil, recovered: false),
        ])
        #expect(state.id == "abc")
        #expect(state.offlineCount == 0)
        #expect(state.nextDeadline == nil)
    }

    @Test func serverRefusalCarriesMessageAndDataAndDeactivates() {
        var state = make()
        _ = state.connect(engineOpen: true, auth: ["token": "reject"], now: start)
        let refusal: SocketIOValue = ["message": "not authorized", "data": ["reason": "bad token", "code": 4001]]
        let actions = state.received(SocketIOPacket(type: .connectError, data: refusal), now: start)
        #expect(actions == [.connectError(SocketIOClientError(
            .refused, "not authorized", data: ["reason": "bad token", "code": 4001]))])
        #expect(!state.isActive)
        #expect(!state.isConnected)
    }

    @Test func serverRefusalAsBareStringIsUnderstood() {
        var state = make()
        _ = state.connect(engineOpen: true, auth: nil, now: start)
        let actions = state.received(SocketIOPacket(type: .connectError, data: "Invalid namespace"), now: start)
        #expect(actions == [.connectError(SocketIOClientError(.refused, "Invalid namespace"))])
    }

    @Test func serverAnswerWithoutSidIsRefusal() {
        var state = make()
        _ = state.connect(engineOpen: true, auth: nil, now: start)
        let actions = state.received(SocketIOPacket(type: .connect, data: [:]), now: start)
        guard case .connectError(let error)? = actions.first else {
            Issue.record("expected a connect error, got \(actions)")
            return
        }
        #expect(error.kind == .refused)
    }

    @Test func clientWithoutConnectAnswerInTimeGetsTimeout() {
        var state = make()
        _ = state.connect(engineOpen: true, auth: nil, now: start)
        #expect(state.tick(now: at(499)).isEmpty)
        let actions = state.tick(now: at(500))
        #expect(actions.count == 1)
        if case .connectError(let error)? = actions.first { #expect(error.kind == .timeout) }
        #expect(!state.isActive)
    }

    // MARK: Recovery

    @Test func clientKeepsLastOffsetAndSendsItWithPidOnReconnect() {
        var state = connected(["sid": "s1", "pid": "p1"])
        let actions = state.received(event("tick", 1, "o7"), now: start)
        #expect(actions == [.event(name: "tick", arguments: [1], ackID: nil, offset: "o7")])
        #expect(state.lastOffset == "o7")
        // An event with an ack id carries no offset.
        #expect(state.received(event("ask", "x", id: 4), now: start) == [
            .event(name: "ask", arguments: ["x"], ackID: 4, offset: nil)
        ])
        #expect(state.engineClosed(.transportClose) == [.disconnected(.transportClose)])
        #expect(state.isActive)
        let reconnect = state.engineOpened(auth: ["user": "u"], now: start)
        #expect(reconnect == [.send(SocketIOPacket(
            type: .connect, data: ["user": "u", "pid": "p1", "offset": "o7"]))])
        let answer = state.received(SocketIOPacket(type: .connect, data: ["sid": "s1", "pid": "p1"]), now: start)
        #expect(answer == [.connected(id: "s1", privateID: "p1", recovered: true)])
        #expect(state.recovered)
    }

    @Test func clientGivenAnotherPidIsNotRecoveredAndForgetsOffset() {
        var state = connected(["sid": "s1", "pid": "p1"])
        _ = state.received(event("tick", "o1"), now: start)
        _ = state.engineClosed(.transportError)
        _ = state.engineOpened(auth: nil, now: start)
        let answer = state.received(SocketIOPacket(type: .connect, data: ["sid": "s2", "pid": "p2"]), now: start)
        #expect(answer == [.connected(id: "s2", privateID: "p2", recovered: false)])
        #expect(state.lastOffset == nil)
    }

    @Test func clientWithoutPidKeepsLastStringArgument() {
        var state = connected()
        #expect(state.received(event("chat", "hello"), now: start) == [
            .event(name: "chat", arguments: ["hello"], ackID: nil, offset: nil)
        ])
    }

    // MARK: Acks

    @Test func clientAckIdsCountUpAndAnswersResolveThem() {
        var state = connected()
        let first = state.emit("a", arguments: [], wantsAck: true, ackTimeout: nil, volatile: false, writable: true, now: start)
        let second = state.emit("b", arguments: [], wantsAck: true, ackTimeout: nil, volatile: false, writable: true, now: start)
        #expect(first.ackID == 0)
        #expect(second.ackID == 1)
        #expect(first.actions == [.send(SocketIOPacket(type: .event, id: 0, data: ["a"]))])
        let answer = SocketIOPacket(type: .ack, id: 1, data: ["ok"])
        #expect(state.received(answer, now: start) == [.ackReceived(id: 1, arguments: ["ok"])])
        #expect(state.received(answer, now: start).isEmpty)
    }

    @Test func clientAckWithoutAnswerInTimeFailsWithAckTimeout() {
        var state = connected()
        _ = state.emit("a", arguments: [], wantsAck: true, ackTimeout: .milliseconds(300), volatile: false, writable: true, now: start)
        #expect(state.nextDeadline == at(300))
        let actions = state.tick(now: at(300))
        #expect(actions == [.ackFailed(id: 0, SocketIOClientError(.ackTimeout, "no acknowledgement in time"))])
    }

    @Test func clientAckTimingOutInOfflineBufferIsNotSentLater() {
        var state = make()
        _ = state.emit("a", arguments: [], wantsAck: true, ackTimeout: .milliseconds(100), volatile: false, writable: false, now: start)
        #expect(state.offlineCount == 1)
        _ = state.tick(now: at(100))
        #expect(state.offlineCount == 0)
    }

    @Test func disconnectionFailsSentAcksAndKeepsBufferedOnes() {
        var state = connected()
        _ = state.emit("sent", arguments: [], wantsAck: true, ackTimeout: nil, volatile: false, writable: true, now: start)
        let actions = state.engineClosed(.pingTimeout)
        #expect(actions == [.disconnected(.pingTimeout), .ackFailed(id: 0, .disconnected(.pingTimeout))])
        _ = state.emit("later", arguments: [], wantsAck: true, ackTimeout: nil, volatile: false, writable: false, now: start)
        #expect(state.offlineCount == 1)
        _ = state.engineOpened(auth: nil, now: start)
        let reconnected = state.received(SocketIOPacket(type: .connect, data: ["sid": "x"]), now: start)
        #expect(reconnected.first == .send(SocketIOPacket(type: .event, id: 1, data: ["later"])))
        #expect(state.received(SocketIOPacket(type: .ack, id: 1, data: []), now: start) == [.ackReceived(id: 1, arguments: [])])
    }

    @Test func ackAnswerPacketOnlyWhileConnected() {
        var state = connected()
        #expect(state.ackPacket(id: 3, arguments: [1]) == SocketIOPacket(type: .ack, id: 3, data: [1]))
        _ = state.engineClosed(.transportClose)
        #expect(state.ackPacket(id: 3, arguments: [1]) == nil)
    }

    // MARK: Offline buffer and volatile

    @Test func offlineBufferDropsNewestPastItsBound() {
        var state = make(maximum: 2)
        for index in 0..<2 {
            _ = state.emit("e", arguments: [.number(SocketIONumber(index))], wantsAck: false, ackTimeout: nil, volatile: false, writable: false, now: start)
        }
        let third = state.emit("e", arguments: [2], wantsAck: true, ackTimeout: nil, volatile: false, writable: false, now: start)
        #expect(third.actions == [
            .dropped(SocketIOClientDroppedEmit(event: "e", arguments: [2], reason: .offlineBufferFull), ackID: 0),
            .ackFailed(id: 0, SocketIOClientError(.dropped, "the emit was dropped before it was sent")),
        ])
        #expect(state.droppedCount == 1)
        #expect(state.offlineCount == 2)
    }

    @Test func offlineBufferDropsOldestWhenAskedTo() {
        var state = make(maximum: 2, overflow: .dropOldest)
        for index in 0..<3 {
            let actions = state.emit("e", arguments: [.number(SocketIONumber(index))], wantsAck: false, ackTimeout: nil, volatile: false, writable: false, now: start).actions
            if index == 2 {
                #expect(actions == [.dropped(SocketIOClientDroppedEmit(event: "e", arguments: [0], reason: .offlineBufferFull), ackID: nil)])
            }
        }
        _ = state.connect(engineOpen: true, auth: nil, now: start)
        let sent = state.received(SocketIOPacket(type: .connect, data: ["sid": "x"]), now: start)
        #expect(sent.prefix(2) == [.send(SocketIOPacket(type: .event, data: ["e", 1])), .send(SocketIOPacket(type: .event, data: ["e", 2]))])
    }

    @Test func offlineBufferOfZeroDropsEverything() {
        var state = make(maximum: 0)
        let actions = state.emit("e", arguments: [], wantsAck: false, ackTimeout: nil, volatile: false, writable: false, now: start).actions
        #expect(actions.count == 1)
        #expect(state.offlineCount == 0)
    }

    @Test func volatileEmitIsDroppedUnlessConnectedAndWritable() {
        var state = make()
        let offline = state.emit("v", arguments: [], wantsAck: false, ackTimeout: nil, volatile: true, writable: true, now: start)
        #expect(offline.actions == [.dropped(SocketIOClientDroppedEmit(event: "v", arguments: [], reason: .volatile), ackID: nil)])
        var online = connected()
        let busy = online.emit("v", arguments: [], wantsAck: false, ackTimeout: nil, volatile: true, writable: false, now: start)
        #expect(busy.actions.count == 1)
        let free = online.emit("v", arguments: [], wantsAck: false, ackTimeout: nil, volatile: true, writable: true, now: start)
        #expect(free.actions == [.send(SocketIOPacket(type: .event, data: ["v"]))])
    }

    // MARK: Disconnecting

    @Test func serverDisconnectDeactivatesSocket() {
        var state = connected()
        #expect(state.received(SocketIOPacket(type: .disconnect), now: start) == [.disconnected(.ioServerDisconnect)])
        #expect(!state.isActive)
        #expect(state.engineOpened(auth: nil, now: start).isEmpty)
    }

    @Test func clientDisconnectSendsDisconnectPacket() {
        var state = connected(namespace: "/chat")
        #expect(state.disconnect() == [
            .send(SocketIOPacket(type: .disconnect, namespace: "/chat")), .disconnected(.ioClientDisconnect),
        ])
        #expect(state.disconnect().isEmpty)
    }

    @Test func eventsBeforeConnectAnswerAreIgnored() {
        var state = make()
        _ = state.connect(engineOpen: true, auth: nil, now: start)
        #expect(state.received(event("early"), now: start).isEmpty)
    }

    @Test func numericEventNameIsDeliveredAsText() {
        var state = connected()
        #expect(state.received(event(7, "x"), now: start) == [.event(name: "7", arguments: ["x"], ackID: nil, offset: nil)])
    }
}
