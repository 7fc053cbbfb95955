import CanalEngineIOCore
import CanalWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// What an Engine.IO client session reports, on its event loop.
protocol EngineClientConnectionDelegate: AnyObject, Sendable {
    func engineOpened(_ connection: EngineClientConnection, handshake: EngineHandshake)
    func engineReceived(_ connection: EngineClientConnection, message: EngineMessage)
    func engineUpgraded(_ connection: EngineClientConnection, to transport: EngineTransport)
    /// The session is over; `detail` says what failed, when something did.
    func engineClosed(_ connection: EngineClientConnection, reason: EngineClientCloseReason, detail: String?)
}

/// One Engine.IO client session on SwiftNIO: drives `EngineClientState` with the two
/// transports (long-polling through async-http-client, WebSocket through CanalWebSocket)
/// and one timer. It only translates: transport events in, state calls, actions out.
///
/// Every stored property is read and written on `eventLoop` only: the public entry points
/// assert it, and transport callbacks hop there first. That is what makes the
/// `@unchecked Sendable` below safe.
final class EngineClientConnection: @unchecked Sendable {
    let eventLoop: any EventLoop
    let url: SocketIOClientURL
    let configuration: SocketIOClientConfiguration
    private let polling: PollingTransport?
    private weak var delegate: (any EngineClientConnectionDelegate)?
    private var state: EngineClientState
    private var main: WebSocketTransport?
    private var probe: WebSocketTransport?
    private var pollTask: Task<Void, Never>?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// What went wrong last, for the `closed` report.
    private var lastError: String?
    /// Actions not yet carried out. The state has already moved past them, so an action that
    /// calls the delegate, which may send, must not have that send's actions run before the
    /// ones queued behind it (a message delivered just before `promoteProbe` would otherwise
    /// be written on the WebSocket before its `5`, and the server drops it).
    private var pendingActions: [EngineClientAction] = []
    private var isRunningActions = false
    /// Waiting for the POSTs in flight (a closed session's last one among them) to end.
    private var drainWaiters: [EventLoopPromise<Void>] = []
    private var logger: Logger { configuration.logger }

    init(
        url: SocketIOClientURL,
        configuration: SocketIOClientConfiguration,
        eventLoop: any EventLoop,
        polling: PollingTransport?,
        delegate: any EngineClientConnectionDelegate
    ) {
        self.url = url
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.polling = polling
        self.delegate = delegate
        self.state = EngineClientState(configuration: configuration.engine)
    }

    // MARK: Entry points (on the event loop)

    func start() {
        eventLoop.preconditionInEventLoop()
        logger.debug("= opening \(url) over \(state.transport.rawValue)")
        run(state.start(now: .now()))
    }

    /// Sends packets that belong together (a Socket.IO packet and its attachments).
    func send(_ packets: [EnginePacket]) {
        eventLoop.preconditionInEventLoop()
        run(state.send(packets))
    }

    func close() {
        eventLoop.preconditionInEventLoop()
        run(state.close(now: .now()))
    }

    /// The layer above found the data unusable: the session ends with "parse error".
    func protocolError(_ detail: String) {
        eventLoop.preconditionInEventLoop()
        lastError = detail
        run(state.receivedGarbage())
    }

    /// Succeeds once no POST is in flight: after `close()` on long-polling, the packets sent
    /// last (a namespace's DISCONNECT, the `close` packet) may still be on their way, and the
    /// HTTP client that carries them must not shut down before.
    func drained() -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        guard state.isPosting else { return eventLoop.makeSucceededVoidFuture() }
        let promise = eventLoop.makePromise(of: Void.self)
        drainWaiters.append(promise)
        return promise.futureResult
    }

    var isWritable: Bool { state.isWritable }
    var transport: EngineTransport { state.transport }
    var isOpen: Bool { state.isOpen }

    // MARK: Actions

    /// Carries out `actions` in order, after those already pending: a call made from inside
    /// one of them (a delegate that sends) queues behind them instead of overtaking them.
    private func run(_ actions: [EngineClientAction]) {
        pendingActions += actions
        guard !isRunningActions else { return }
        isRunningActions = true
        defer { isRunningActions = false }
        var next = 0
        while next < pendingActions.count {
            let action = pendingActions[next]
            next += 1
            perform(action)
        }
        pendingActions.removeAll(keepingCapacity: true)
        scheduleTimer()
    }

    private func perform(_ action: EngineClientAction) {
        switch action {
        case .openTransport(.polling):
            startPoll(timeout: configuration.engine.openTimeout)
        case .openTransport(.websocket):
            main = openWebSocket(sessionID: nil)
        case .poll:
            startPoll(timeout: pollTimeout)
        case .post(let body):
            startPost(body)
        case .sendOnWebSocket(let packets):
            logger.trace("> ws \(packets.map(\.description).joined(separator: " | "))")
            main?.send(packets)
        case .openProbe:
            probe = openWebSocket(sessionID: state.handshake?.sid)
        case .sendOnProbe(let packet):
            logger.trace("> probe \(packet)")
            probe?.send([packet])
        case .closeProbe:
            logger.debug("= upgrade abandoned")
            probe?.close()
            probe = nil
        case .promoteProbe:
            main = probe
            probe = nil
            logger.debug("= upgraded to websocket")
            delegate?.engineUpgraded(self, to: .websocket)
        case .opened(let handshake):
            logger.debug("= open, sid \(handshake.sid)")
            delegate?.engineOpened(self, handshake: handshake)
        case .deliver(let message):
            delegate?.engineReceived(self, message: message)
        case .closeTransport:
            pollTask?.cancel()
            pollTask = nil
            main?.close()
            main = nil
        case .closed(let reason):
            timer?.cancel()
            timer = nil
            logger.debug("= closed: \(reason.rawValue)\(lastError.map { " (\($0))" } ?? "")")
            delegate?.engineClosed(self, reason: reason, detail: reason == .forcedClose ? nil : lastError)
            delegate = nil
        }
    }

    /// A GET may wait a whole ping interval for data; a little more than a heartbeat.
    private var pollTimeout: TimeAmount {
        (state.handshake?.heartbeatTimeout ?? .seconds(45)) + .seconds(5)
    }

    private func scheduleTimer() {
        let deadline = state.nextDeadline
        guard deadline != timerDeadline else { return }
        timer?.cancel()
        timerDeadline = deadline
        guard let deadline else {
            timer = nil
            return
        }
        timer = eventLoop.scheduleTask(deadline: deadline) { [self] in
            timerDeadline = nil
            timer = nil
            run(state.tick(now: .now()))
        }
    }

    // MARK: Long-polling

    private func engineURL(_ transport: EngineTransport, sessionID: String?) -> String {
        url.engineURL(path: configuration.path, transport: transport, sessionID: sessionID, extraQuery: configuration.query)
    }

    private func startPoll(timeout: TimeAmount) {
        guard let polling else {
            lastError = "long-polling is not among the configured transports"
            return run(state.pollFailed(now: .now()))
        }
        let target = engineURL(.polling, sessionID: state.handshake?.sid)
        let loop = eventLoop
        pollTask = Task { [self] in
            let result: Result<ByteBuffer, any Error>
            do {
                result = .success(try await polling.get(target, timeout: timeout))
            } catch {
                result = .failure(error)
            }
            loop.execute { self.pollFinished(result) }
        }
    }

    private func pollFinished(_ result: Result<ByteBuffer, any Error>) {
        switch result {
        case .success(let body):
            logger.trace("< poll \(String(buffer: body).prefix(120))")
            run(state.pollResponded(body, now: .now()))
        case .failure(let error as PollingError) where error.isTooLarge:
            lastError = error.description
            run(state.receivedGarbage())
        case .failure(let error):
            if state.isClosed { return }
            lastError = TransportErrorText.describe(error, url: url)
            run(state.pollFailed(now: .now()))
        }
    }

    private func startPost(_ body: ByteBuffer) {
        guard let polling, let sid = state.handshake?.sid else { return }
        let target = engineURL(.polling, sessionID: sid)
        let loop = eventLoop
        let timeout = max(configuration.engine.openTimeout, pollTimeout)
        logger.trace("> post \(String(buffer: body).prefix(120))")
        Task { [self] in
            let failure: (any Error)?
            do {
                try await polling.post(target, body: body, timeout: timeout)
                failure = nil
            } catch {
                failure = error
            }
            loop.execute {
                if let failure {
                    if self.state.isClosed {
                        // Nothing more goes out on a closed session whose POST failed.
                        _ = self.state.postFailed(now: .now())
                        self.releaseDrainWaitersIfIdle()
                        return
                    }
                    self.lastError = TransportErrorText.describe(failure, url: self.url)
                    self.run(self.state.postFailed(now: .now()))
                } else {
                    self.run(self.state.postSucceeded(now: .now()))
                }
                self.releaseDrainWaitersIfIdle()
            }
        }
    }

    private func releaseDrainWaitersIfIdle() {
        guard !state.isPosting, !drainWaiters.isEmpty else { return }
        let waiters = drainWaiters
        drainWaiters.removeAll()
        for waiter in waiters { waiter.succeed() }
    }

    // MARK: WebSocket

    private func openWebSocket(sessionID: String?) -> WebSocketTransport {
        var settings = configuration.webSocket
        settings.headers = configuration.headers
        settings.tls = configuration.tls
        settings.webSocket.maxMessageSize = min(settings.webSocket.maxMessageSize, configuration.engine.maxPayloadBytes)
        settings.handshakeTimeout = sessionID == nil ? configuration.engine.openTimeout : configuration.engine.upgradeTimeout
        let transport = WebSocketTransport(eventLoop: eventLoop)
        transport.open(
            url: engineURL(.websocket, sessionID: sessionID), server: url, configuration: settings, logger: logger
        ) { [self] transport, event in
            webSocketEvent(event, from: transport)
        }
        return transport
    }

    private func webSocketEvent(_ event: WebSocketTransport.Event, from transport: WebSocketTransport) {
        let now = NIODeadline.now()
        if transport === main {
            switch event {
            case .opened:
                break
            case .packet(let packet):
                logger.trace("< ws \(packet)")
                run(state.webSocketReceived(packet, now: now))
            case .garbage(let why):
                lastError = why
                run(state.receivedGarbage())
            case .failed(let why), .closed(let why):
                lastError = why
                main = nil
                run(state.webSocketClosed(now: now))
            }
        } else if transport === probe {
            switch event {
            case .opened:
                run(state.probeOpened(now: now))
            case .packet(let packet):
                logger.trace("< probe \(packet)")
                run(state.probeReceived(packet, now: now))
            case .garbage, .failed, .closed:
                logger.debug("= probe failed: \(event)")
                probe = nil
                run(state.probeFailed(now: now))
            }
        } else if case .opened = event {
            // A probe opened after the session gave it up.
            transport.close()
        }
    }
}
