import CanalWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Listen mode (`canal -l PORT`): a server for any number of clients. What is typed goes
/// to all of them; what each sends is printed with its label (`[client 1] < hello`).
final class ListenSession: Sendable {
    struct Settings: Sendable {
        var host = "127.0.0.1"
        var port: Int
        var slash = false
        var showPingPong = false
        /// Subprotocols to accept, in order of preference.
        var subprotocols: [String] = []
    }

    private struct State {
        var nextID = 1
        /// Client numbers given at the handshake (in the order clients arrive), by address.
        var numbers: [String: Int] = [:]
        var inputStarted = false
        var quitRequests = 0
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    let settings: Settings
    let console: Console
    private let hub = InputHub()
    private let state = NIOLockedValueBox(State())

    init(settings: Settings, console: Console) {
        self.settings = settings
        self.console = console
    }

    /// Serves until Ctrl-C, SIGTERM or the end of input, then closes every client with 1000.
    func run() async -> ExitStatus {
        var configuration = WebSocketServerConfiguration()
        // As wscat's server: no keepalive pings, which -P would show every 20 s.
        configuration.timeouts.keepaliveInterval = nil
        // -P shows the clients' pings and pongs.
        configuration.webSocket.exposesPingPong = true
        let server: WebSocketServer
        do {
            server = try await WebSocketServer.bind(
                host: settings.host,
                port: settings.port,
                configuration: configuration,
                logger: Logger(label: "canal.listen", factory: { _ in SwiftLogNoOpLogHandler() }),
                shouldUpgrade: { [self] request in decideUpgrade(request) },
                handler: .async { [self] inbound, outbound, context in
                    await serve(inbound: inbound, outbound: outbound, context: context)
                }
            )
        } catch {
            console.error("could not listen on \(settings.host):\(settings.port): \(Self.describeBindError(error))")
            return .connectionFailed
        }
        console.status("Listening on port \(server.localAddress.port ?? settings.port) (press CTRL+C to quit)")
        // On a terminal the prompt is there at once; piped input waits for the first
        // client, so that `echo hello | canal -l 8000` greets whoever connects first.
        if isInteractive { startInputIfNeeded() }
        let signals = SignalWatcher { [self] in requestQuit() }
        defer { signals.cancel() }
        let serving = Task { try? await server.run() }
        await withCheckedContinuation { continuation in
            let done = state.withLockedValue { state in
                if state.finished { return true }
                state.waiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
        serving.cancel()
        return .success
    }

    private func decideUpgrade(_ request: WebSocketUpgradeRequest) -> WebSocketUpgradeDecision {
        if state.withLockedValue({ $0.quitRequests > 0 }) {
            return .reject(WebSocketHandshakeRejection(status: .serviceUnavailable, body: "canal is shutting down"))
        }
        let key = request.remoteAddress.map { "\($0)" } ?? ""
        state.withLockedValue { state in
            state.numbers[key] = state.nextID
            state.nextID += 1
        }
        let chosen = settings.subprotocols.first { request.requestedProtocols.contains($0) }
        return .accept(subprotocol: chosen)
    }

    private func serve(inbound: WebSocketInbound, outbound: WebSocketOutbound, context: WebSocketContext) async {
        let key = context.request?.remoteAddress.map { "\($0)" } ?? ""
        let id = state.withLockedValue { state in
            if let number = state.numbers.removeValue(forKey: key) { return number }
            defer { state.nextID += 1 }
            return state.nextID
        }
        let label = "client \(id)"
        let items = hub.attach(id: id)
        var greeting = "Connected"
        if let address = context.request?.remoteAddress, let ip = address.ipAddress, let port = address.port {
            greeting += " (from \(ip.contains(":") ? "[\(ip)]" : ip):\(port))"
        }
        if let subprotocol = context.subprotocol { greeting += ", subprotocol \(subprotocol)" }
        console.status(greeting, label: label)
        startInputIfNeeded()
        let driver = ConnectionDriver(console: console, showPingPong: settings.showPingPong, label: label)
        _ = await driver.run(inbound: inbound, outbound: outbound, items: items)
        hub.detach(id: id)
        if state.withLockedValue({ $0.quitRequests > 0 }), hub.connectionCount == 0 {
            finish()
        }
    }

    private func submit(_ line: String) {
        guard let item = SlashCommand.outboundItem(for: line, slash: settings.slash, console: console) else { return }
        if hub.send(item) == 0 {
            console.error("no client is connected: not sent")
        }
    }

    private var isInteractive: Bool { console.style.decorated && Terminal.stdinIsTerminal }

    private func startInputIfNeeded() {
        let first = state.withLockedValue { state in
            defer { state.inputStarted = true }
            return !state.inputStarted
        }
        guard first else { return }
        InputReader.start(interactive: isInteractive, console: console) { [self] event in
            switch event {
            case .line(let line): submit(line)
            case .interrupt, .endOfInput: requestQuit()
            }
        }
    }

    /// Closes every client with 1000 and finishes once they are gone (at most 5 s later);
    /// a second request exits at once.
    private func requestQuit() {
        let count = state.withLockedValue { state in
            state.quitRequests += 1
            return state.quitRequests
        }
        guard count == 1 else { ExitStatus.success.terminate(console: console) }
        if hub.send(.close(code: .normalClosure, reason: "")) == 0 {
            finish()
            return
        }
        Task { [self] in
            try? await Task.sleep(nanoseconds: 5_000_000_000)
            finish()
        }
    }

    private func finish() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard !state.finished else { return nil }
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    static func describeBindError(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("errno: 98") || text.contains("errno: 48") { return "the address is already in use" }
        if text.contains("errno: 13") { return "permission denied (ports below 1024 need privileges)" }
        if text.contains("errno: 99") || text.contains("errno: 49") { return "no such local address" }
        return text
    }
}
