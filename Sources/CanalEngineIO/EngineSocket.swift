import CanalEngineIOCore
import CanalWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One Engine.IO session, as the application sees it: messages in, messages out, over
/// long-polling or WebSocket, whichever the client uses (an upgrade is invisible here).
///
/// Set `onMessage` and `onClose` in the server's connection handler; both run on the
/// session's `eventLoop`. `send` and `close` may be called from anywhere.
///
/// Thread safety: every mutable member below is read and written on `eventLoop` only
/// (entry points from elsewhere hop there first), which is what makes the unchecked
/// `Sendable` conformance sound.
public final class EngineSocket: @unchecked Sendable {
    public let id: String
    public let eventLoop: EventLoop
    /// The request that opened the session.
    public let request: EngineHandshakeRequest

    /// Called on `eventLoop` for each message from the client.
    public var onMessage: ((EngineMessage) -> Void)?
    /// Called on `eventLoop` once, when the session is over.
    public var onClose: ((EngineCloseReason) -> Void)?

    private var state: EngineSessionState
    private weak var server: EngineServer?
    private let logger: Logger
    /// The polling GET waiting for packets.
    private var heldPoll: EventLoopPromise<[EnginePacket]>?
    /// The session's WebSocket, once it has one, and the one probing for an upgrade.
    private var webSocket: LoopSocket?
    private var probe: LoopSocket?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var pollFlushScheduled = false
    /// What request routing needs to know, readable from any thread.
    let facts: NIOLockedValueBox<EngineRequest.SessionFacts>

    init(
        id: String,
        eventLoop: EventLoop,
        request: EngineHandshakeRequest,
        configuration: EngineConfiguration,
        server: EngineServer,
        logger: Logger
    ) {
        self.id = id
        self.eventLoop = eventLoop
        self.request = request
        self.server = server
        self.logger = logger
        self.state = EngineSessionState(
            id: id, transport: request.transport, configuration: configuration, now: .now())
        self.facts = NIOLockedValueBox(.init(transport: request.transport, hasWebSocket: false))
    }

    /// The transport in use now. Read it on `eventLoop`.
    public var transport: EngineTransport {
        eventLoop.assertInEventLoop()
        return state.transport
    }

    /// True until the session closes. Read it on `eventLoop`.
    public var isOpen: Bool {
        eventLoop.assertInEventLoop()
        return state.isOpen
    }

    // MARK: Sending

    /// Sends a message to the client.
    public func send(_ message: EngineMessage) {
        send(.single(message))
    }

    /// Sends a message encoded once for many sessions (see `EngineOutgoingMessage`).
    ///
    /// - Parameter volatile: drop the message instead of queueing it when the client is
    ///   not ready to take it now (a WebSocket with bytes still unsent, a polling client
    ///   with no request waiting).
    /// - Returns: false when the message was dropped here (volatile, or the session is
    ///   over or just ended as a slow consumer); true when it was sent or queued, or handed
    ///   to the session's loop from another thread.
    @discardableResult
    public func send(_ message: EngineOutgoingMessage, volatile: Bool = false) -> Bool {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.send(message, volatile: volatile) }
            return true
        }
        if state.sendsOnWebSocket, let webSocket {
            // The hot path: straight to the WebSocket, no action in between.
            let buffered = webSocket.bufferedBytes
            if volatile, buffered > 0 { return false }
            if buffered > state.configuration.maxBufferedBytes {
                logger.info("! \(id) is not reading: \(buffered) bytes wait for it; disconnecting")
                perform(state.close(now: .now()), closeReason: .slowConsumer)
                return false
            }
            webSocket.send(message.webSocketMessage)
            return true
        }
        guard state.isOpen else { return false }
        if volatile, !(state.transport == .polling && state.isPollHeld) { return false }
        if let action = state.send(message.packet) { perform(action) }
        schedulePollFlush()
        return state.isOpen
    }

    /// Closes the session from the server: a polling client gets what is still queued.
    public func close() {
        eventLoop.execute {
            self.perform(self.state.close(now: .now()))
        }
    }

    /// Ends the session because the server shuts down, so that the client reconnects
    /// (here once the server is back, or to another server of a cluster): a held GET is
    /// answered 503 and a WebSocket closed with 1001 "going away", with no Engine.IO `close`.
    func abandon() {
        eventLoop.execute {
            guard let action = self.state.abandon() else { return }
            self.heldPoll?.fail(EngineServer.Unavailable())
            self.heldPoll = nil
            self.webSocket?.close(code: .goingAway)
            self.webSocket = nil
            self.perform([action])
        }
    }

    // MARK: Transports, called by the server

    /// Sends the `open` packet on the handshake's transport and starts the heartbeat.
    func start() -> EnginePacket {
        eventLoop.assertInEventLoop()
        rescheduleTimer()
        return state.openPacket
    }

    func attachWebSocket(_ socket: LoopSocket) {
        eventLoop.assertInEventLoop()
        webSocket = socket
        socket.send(WebSocketMessage(kind: .text, data: state.openPacket.webSocketText()))
        rescheduleTimer()
    }

    /// A polling GET, with its `t` query parameter if it has one. Completes with the packets
    /// to answer, or fails with `EngineError` when it overlaps another (the answer is 400 then).
    func poll(requestID: String?) -> EventLoopFuture<[EnginePacket]> {
        eventLoop.flatSubmit {
            switch self.state.pollArrived(now: .now(), requestID: requestID) {
            case .respond(let packets):
                self.afterStateChange()
                return self.eventLoop.makeSucceededFuture(packets)
            case .hold:
                let promise = self.eventLoop.makePromise(of: [EnginePacket].self)
                self.heldPoll = promise
                return promise.futureResult
            case .closed:
                return self.eventLoop.makeSucceededFuture([.close])
            case .rejectOverlap(let actions):
                self.logger.debug("! \(self.id): two polling GETs at once")
                self.perform(actions)
                return self.eventLoop.makeFailedFuture(EngineError(.badRequest))
            }
        }
    }

    /// A polling POST's body.
    func post(_ body: ByteBuffer) -> EventLoopFuture<Void> {
        eventLoop.submit {
            let now = NIODeadline.now()
            do {
                let packets = try EnginePayload.decode(body)
                self.perform(self.state.postArrived(packets, now: now))
            } catch {
                self.logger.debug("! \(self.id): \(error)")
                if let action = self.state.parseFailed() { self.perform(action) }
            }
        }
    }

    /// An event on the session's WebSocket (direct, or after the upgrade).
    func webSocketEvent(_ event: WebSocketEvent) {
        eventLoop.assertInEventLoop()
        switch event {
        case .message(let message):
            // The official server gives its WebSocket `maxPayload: maxHttpBufferSize`.
            guard message.data.readableBytes <= state.configuration.maxHttpBufferSize else {
                logger.debug("! \(id): a \(message.data.readableBytes)-byte message is over maxHttpBufferSize")
                webSocket?.close(code: .messageTooBig)
                webSocket = nil
                if let action = state.transportLost(reason: .transportError) { perform(action) }
                return
            }
            let packet: EnginePacket
            switch message.kind {
            case .binary: packet = .decode(webSocketBinary: message.data)
            case .text:
                do {
                    packet = try .decode(webSocketText: message.data)
                } catch {
                    logger.debug("! \(id): \(error)")
                    if let action = state.parseFailed() { perform(action) }
                    return
                }
            }
            if let action = state.receive(packet, now: .now()) {
                perform(action)
            } else if packet.type == .pong {
                rescheduleTimer()
            }
        case .closed:
            webSocket = nil
            if let action = state.transportLost() { perform(action) }
        case .ping, .pong, .closeReceived:
            break
        }
    }

    /// A WebSocket for this polling session was accepted.
    func attachProbe(_ socket: LoopSocket) {
        eventLoop.assertInEventLoop()
        probe = socket
        state.probeOpened(now: .now())
        updateFacts()
        rescheduleTimer()
    }

    /// An event on a WebSocket opened for this polling session: the probe, and after the
    /// upgrade the session's own WebSocket.
    func upgradeConnectionEvent(_ event: WebSocketEvent) {
        if state.transport == .websocket, webSocket != nil {
            webSocketEvent(event)
        } else {
            probeEvent(event)
        }
    }

    /// An event on the WebSocket that probes for an upgrade.
    private func probeEvent(_ event: WebSocketEvent) {
        eventLoop.assertInEventLoop()
        switch event {
        case .message(let message):
            guard message.kind == .text, let packet = try? EnginePacket.decode(webSocketText: message.data) else {
                perform(state.probeReceived(EnginePacket(.noop, text: "invalid"), now: .now()))
                return
            }
            let wasUpgrading = state.isUpgrading
            let actions = state.probeReceived(packet, now: .now())
            if wasUpgrading, state.transport == .websocket {
                // Upgraded: the probe is the session's WebSocket from now on.
                webSocket = probe
                probe = nil
                logger.debug("= \(id) upgraded to websocket")
            }
            perform(actions)
            updateFacts()
        case .closed:
            if probe != nil {
                probe = nil
                state.probeLost()
                updateFacts()
            }
        case .ping, .pong, .closeReceived:
            break
        }
    }

    // MARK: Actions

    private func perform(_ actions: [EngineSessionAction], closeReason: EngineCloseReason? = nil) {
        for action in actions { perform(action, closeReason: closeReason) }
        afterStateChange()
    }

    private func perform(_ action: EngineSessionAction, closeReason: EngineCloseReason? = nil) {
        switch action {
        case .deliver(let message):
            onMessage?(message)
        case .sendOnWebSocket(let packets):
            for packet in packets { webSocket?.send(packet) }
        case .respondToPoll(let packets):
            if let heldPoll {
                self.heldPoll = nil
                heldPoll.succeed(packets)
            }
        case .sendOnProbe(let packet):
            probe?.send(packet)
        case .closeProbe:
            probe?.close()
            probe = nil
        case .closed(let reason):
            finish(closeReason ?? reason)
        }
    }

    private func finish(_ reason: EngineCloseReason) {
        timer?.cancel()
        timer = nil
        heldPoll?.succeed([.close])
        heldPoll = nil
        probe?.close()
        probe = nil
        // A WebSocket closes with 1000; a client ending the session itself is already closing.
        webSocket?.close()
        webSocket = nil
        server?.remove(self)
        logger.debug("= \(id) closed: \(reason.rawValue)")
        let onClose = self.onClose
        self.onClose = nil
        self.onMessage = nil
        onClose?(reason)
    }

    private func afterStateChange() {
        if state.isClosed { return }
        rescheduleTimer()
    }

    private func updateFacts() {
        let current = EngineRequest.SessionFacts(transport: state.transport, hasWebSocket: state.hasWebSocket)
        facts.withLockedValue { $0 = current }
    }

    /// Flushes the packets queued for a held GET once per turn of the loop.
    private func schedulePollFlush() {
        guard !pollFlushScheduled, state.transport == .polling else { return }
        pollFlushScheduled = true
        eventLoop.execute {
            self.pollFlushScheduled = false
            if let action = self.state.flushPoll() { self.perform([action]) }
        }
    }

    private func rescheduleTimer() {
        guard let deadline = state.nextDeadline else {
            timer?.cancel()
            timer = nil
            timerDeadline = nil
            return
        }
        if let timerDeadline, timerDeadline <= deadline, timer != nil { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = eventLoop.scheduleTask(deadline: deadline) { [weak self] in
            guard let self else { return }
            self.timer = nil
            self.timerDeadline = nil
            self.perform(self.state.tick(now: .now()))
        }
    }
}

/// A WebSocket connection of a session, used from the session's event loop whichever loop
/// the connection lives on.
struct LoopSocket: Sendable {
    private let socket: NIOLoopBound<WebSocketLoopSocket>

    init(_ socket: WebSocketLoopSocket, eventLoop: EventLoop) {
        self.socket = NIOLoopBound(socket, eventLoop: eventLoop)
    }

    private func onLoop(_ body: @escaping @Sendable (WebSocketLoopSocket) -> Void) {
        if socket.eventLoop.inEventLoop {
            body(socket.value)
        } else {
            let socket = self.socket
            socket.eventLoop.execute { body(socket.value) }
        }
    }

    func send(_ message: WebSocketMessage) {
        onLoop { $0.send(message) }
    }

    func send(_ packet: EnginePacket) {
        if packet.isBinary {
            send(.binary(packet.data))
        } else {
            send(WebSocketMessage(kind: .text, data: packet.webSocketText()))
        }
    }

    func close(code: WebSocketCloseCode = .normalClosure) {
        onLoop { $0.close(code: code, reason: "") }
    }

    /// Bytes written to the connection that the peer has not taken yet (0 from another
    /// loop). A writable channel reports 0 without asking: it is below its high-water mark,
    /// which is all the volatile rule and the slow-consumer bound need to know, and reading
    /// the option costs a dynamic cast on every send.
    var bufferedBytes: Int {
        guard socket.eventLoop.inEventLoop, let channel = socket.value.channel, !channel.isWritable else { return 0 }
        return (try? channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }
}
