import CanalSocketIOClient
import NIOConcurrencyHelpers

/// `canal io URL`: one Socket.IO connection; every event that arrives is printed, what is
/// typed or piped in is emitted; with `--reconnect` lost connections are opened again.
final class SocketIOSession: Sendable {
    struct Settings: Sendable {
        var url: String
        var namespace: String
        var auth: SocketIOValue?
        var configuration: SocketIOClientConfiguration
        /// `-x` lines, sent in order after connecting.
        var execute: [String] = []
        /// Seconds between the `-x` lines and the end; negative keeps the connection open.
        var wait: Double = 2
        /// Seconds between the end of input and the end; negative keeps the connection open.
        var waitAfterInput: Double = 0
    }

    private struct State {
        var connectedOnce = false
        var inputStarted = false
        var quitRequests = 0
        var status: ExitStatus?
        var waiter: CheckedContinuation<ExitStatus, Never>?
        var manager: SocketIOManager?
        var primary: SocketIOClientSocket?
        /// Where typed lines go: the primary namespace, or the last one joined.
        var current: SocketIOClientSocket?
        var joined: [String: SocketIOClientSocket] = [:]
        /// The peer's acknowledgement requests, by the number shown.
        var requests: [Int: SocketIOClientAck] = [:]
        var nextRequest = 1
        var pendingCalls = 0
    }

    let settings: Settings
    let console: Console
    private let state = NIOLockedValueBox(State())

    init(settings: Settings, console: Console) {
        self.settings = settings
        self.console = console
    }

    /// Connects and returns how the session ended.
    func run() async -> ExitStatus {
        let manager: SocketIOManager
        do {
            manager = try SocketIOManager(url: settings.url, configuration: settings.configuration)
        } catch {
            console.error(error.message)
            return .usage
        }
        let signals = SignalWatcher { [self] in requestQuit() }
        let primary = manager.socket(namespace: settings.namespace, auth: settings.auth)
        state.withLockedValue { state in
            state.manager = manager
            state.primary = primary
            state.current = primary
        }
        let updates = primary.updates()
        let watcher = Task { await watch(updates, label: nil) }
        primary.connect()
        let status = await withCheckedContinuation { continuation in
            let done = state.withLockedValue { state -> ExitStatus? in
                if let status = state.status { return status }
                state.waiter = continuation
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
        signals.cancel()
        await manager.close()
        watcher.cancel()
        return status
    }

    private func finish(_ status: ExitStatus) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<ExitStatus, Never>? in
            guard state.status == nil else { return nil }
            state.status = status
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: status)
    }

    // MARK: What arrives

    /// Prints one socket's updates; `label` names a joined namespace.
    private func watch(_ updates: SocketIOClientUpdates, label: String?) async {
        do {
            for try await update in updates { show(update, label: label) }
        } catch {
            console.error("\(error)", label: label)
            if label == nil { finish(.closedAbnormally) }
        }
    }

    private func show(_ update: SocketIOClientUpdate, label: String?) {
        let isPrimary = label == nil
        switch update {
        case .connected(let info):
            let first = state.withLockedValue { state in
                defer { if isPrimary { state.connectedOnce = true } }
                return !state.connectedOnce || !isPrimary
            }
            if first {
                let hint = isPrimary ? "; press CTRL+C to quit" : ""
                console.status(
                    "Connected to \(info.namespace) (id \(info.id), \(info.transport.rawValue)\(hint))", label: label)
                if isPrimary { connectedFirstTime() }
            } else {
                let session = info.recovered ? "session recovered" : "new session, missed events are lost"
                console.status("Reconnected (id \(info.id), \(info.transport.rawValue), \(session))", label: label)
            }
        case .connectError(let error, let willRetry):
            console.error(lines: SocketIOErrorReport.lines(for: error, url: settings.url))
            if !willRetry, isPrimary {
                finish(state.withLockedValue { $0.connectedOnce } ? .closedAbnormally : .connectionFailed)
            }
        case .event(let event):
            showEvent(event, label: label)
        case .disconnected(let reason, let willReconnect, let detail):
            console.status("Disconnected (\(reason.rawValue))", label: label)
            if let detail { console.error(detail, label: label) }
            guard isPrimary, !willReconnect else { return }
            switch reason {
            case .ioClientDisconnect, .ioServerDisconnect: finish(.success)
            case .pingTimeout, .transportClose, .transportError, .parseError: finish(.closedAbnormally)
            }
        case .reconnecting(let attempt, let delay):
            guard isPrimary else { return }
            let seconds = Double(delay.nanoseconds) / 1e9
            console.status("Reconnecting in \(ClientSession.format(seconds: seconds)) (attempt \(attempt))")
        case .reconnectFailed(let attempts):
            guard isPrimary else { return }
            console.error("giving up after \(attempts) reconnection attempt\(attempts == 1 ? "" : "s")")
            finish(state.withLockedValue { $0.connectedOnce } ? .closedAbnormally : .connectionFailed)
        case .upgraded(let transport):
            if isPrimary { console.status("Upgraded to \(transport.rawValue)") }
        case .dropped(let emit):
            console.error("not sent (\(emit.reason.rawValue)): \(emit.event)", label: label)
        }
    }

    private func showEvent(_ event: SocketIOClientEvent, label: String?) {
        let rendered = SocketIOFormat.arguments(event.arguments)
        console.incoming(lines: rendered.lines(after: event.name), label: label)
        guard let ack = event.ack else { return }
        let number = state.withLockedValue { state in
            defer { state.nextRequest += 1 }
            state.requests[state.nextRequest] = ack
            return state.nextRequest
        }
        console.info(["  (the server asks for an acknowledgement: /ack \(number) [ARG ...])"])
    }

    // MARK: What is typed

    private func connectedFirstTime() {
        if settings.execute.isEmpty {
            startInputIfNeeded()
            return
        }
        for line in settings.execute { submit(line) }
        if settings.wait >= 0 { quitLater(after: settings.wait) }
    }

    private func startInputIfNeeded() {
        let first = state.withLockedValue { state in
            defer { state.inputStarted = true }
            return !state.inputStarted
        }
        guard first else { return }
        let interactive = console.style.decorated && Terminal.stdinIsTerminal
        InputReader.start(interactive: interactive, console: console) { [self] event in
            switch event {
            case .line(let line): submit(line)
            case .interrupt: requestQuit()
            case .endOfInput: if settings.waitAfterInput >= 0 { quitLater(after: settings.waitAfterInput) }
            }
        }
    }

    private func submit(_ line: String) {
        switch SocketIOInput.parse(line) {
        case .failure(let error): console.error(error.description)
        case .success(let input): perform(input)
        }
    }

    private func perform(_ input: SocketIOInput) {
        guard let socket = state.withLockedValue({ $0.current }) else { return }
        do {
            switch input {
            case .message(let text):
                try socket.emit("message", arguments: [.string(text)])
            case .emit(let event, let arguments):
                try socket.emit(event, arguments: arguments)
            case .call(let event, let arguments):
                call(event, arguments: arguments, on: socket)
            case .answer(let id, let arguments):
                guard let ack = state.withLockedValue({ $0.requests.removeValue(forKey: id) }) else {
                    return console.error("there is no acknowledgement request #\(id) (or it was answered)")
                }
                ack(arguments: arguments)
            case .join(let namespace, let auth):
                join(namespace, auth: auth)
            case .leave(let namespace):
                leave(namespace)
            case .disconnect:
                requestQuit()
            case .help:
                console.info(SocketIOInput.clientHelp.split(separator: "\n").map(String.init))
            }
        } catch {
            console.error("not sent: \(error)")
        }
    }

    private func call(_ event: String, arguments: [SocketIOValue], on socket: SocketIOClientSocket) {
        state.withLockedValue { $0.pendingCalls += 1 }
        let label = socket.namespace == settings.namespace ? nil : socket.namespace
        Task {
            do {
                let answer = try await socket.emitWithAck(event, arguments: arguments)
                let rendered = SocketIOFormat.arguments(answer)
                console.incoming(lines: rendered.lines(after: "ack \(event)"), label: label)
            } catch let error as SocketIOClientError where error.kind == .ackTimeout {
                let seconds = settings.configuration.ackTimeout.map { ClientSession.format(seconds: Double($0.nanoseconds) / 1e9) }
                console.error("no acknowledgement for \(DisplayText.quoted(event)) within \(seconds ?? "the timeout")")
            } catch {
                console.error("no acknowledgement for \(DisplayText.quoted(event)): \(error)")
            }
            state.withLockedValue { $0.pendingCalls -= 1 }
        }
    }

    private func join(_ namespace: String, auth: SocketIOValue?) {
        let (manager, existing) = state.withLockedValue { ($0.manager, $0.joined[namespace]) }
        if let existing {
            state.withLockedValue { $0.current = existing }
            console.status("Lines now go to \(namespace)")
            return
        }
        guard let manager else { return }
        let socket = manager.socket(namespace: namespace, auth: auth)
        if socket === state.withLockedValue({ $0.primary }) {
            state.withLockedValue { $0.current = socket }
            return
        }
        state.withLockedValue { state in
            state.joined[namespace] = socket
            state.current = socket
        }
        let updates = socket.updates()
        Task { await watch(updates, label: namespace) }
        socket.connect()
    }

    private func leave(_ namespace: String?) {
        let (target, primary) = state.withLockedValue { state in
            (namespace.map { state.joined[$0] ?? (state.primary?.namespace == $0 ? state.primary : nil) } ?? state.current,
                state.primary)
        }
        guard let target else { return console.error("not in namespace \(namespace ?? "?")") }
        if target === primary { return requestQuit() }
        target.disconnect()
        state.withLockedValue { state in
            state.joined[target.namespace] = nil
            if state.current === target { state.current = state.primary }
        }
    }

    // MARK: Ending

    /// After `seconds`, and once the pending /call answers are in (or timed out), disconnect.
    private func quitLater(after seconds: Double) {
        Task { [self] in
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            while state.withLockedValue({ $0.pendingCalls > 0 }) {
                try? await Task.sleep(nanoseconds: 20_000_000)
            }
            requestQuit()
        }
    }

    /// Ctrl-C, SIGTERM, `/disconnect` or the end of input: disconnect and finish; a second
    /// time, exit at once.
    private func requestQuit() {
        let (count, sockets) = state.withLockedValue { state in
            state.quitRequests += 1
            return (state.quitRequests, Array(state.joined.values) + [state.primary].compactMap { $0 })
        }
        guard count == 1 else { ExitStatus.success.terminate(console: console) }
        let connected = sockets.last?.isConnected ?? false
        for socket in sockets { socket.disconnect() }
        // The primary's "Disconnected" ends the session; without a connection, end now.
        if !connected { finish(.success) }
    }
}
