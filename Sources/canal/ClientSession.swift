import CanalWebSocket
import Logging
import NIOConcurrencyHelpers

/// Connect mode (`canal -c URL`): one connection at a time, what is typed or piped in is
/// sent, what arrives is printed; optionally reconnects when the connection is lost.
final class ClientSession: Sendable {
    struct Settings: Sendable {
        var url: String
        var configuration: WebSocketClientConfiguration
        var followRedirects = false
        var maxRedirects = 10
        /// `-x` lines, sent in order after connecting.
        var execute: [String] = []
        /// Seconds between the `-x` lines and the close; negative keeps the connection open.
        var wait: Double = 2
        /// Seconds between the end of input and the close (`-w` again, default 0), so that
        /// replies to the last lines can arrive; negative keeps the connection open.
        var waitAfterInput: Double = 0
        var slash = false
        var showPingPong = false
        var reconnect = false
        var maxReconnects: Int?
        var backoff = BackoffSchedule()
    }

    private enum Outcome {
        case ended(ConnectionEnd)
        case failed([String])
    }

    private struct State {
        var inputStarted = false
        var quitRequests = 0
    }

    let settings: Settings
    let console: Console
    private let hub = InputHub()
    private let state = NIOLockedValueBox(State())

    init(settings: Settings, console: Console) {
        self.settings = settings
        self.console = console
    }

    /// Connects (again and again with `--reconnect`) and returns how the session ended.
    func run() async -> ExitStatus {
        let signals = SignalWatcher { [self] in requestQuit() }
        defer { signals.cancel() }
        var attempt = 0
        while true {
            let result: ExitStatus
            switch await connectFollowingRedirects() {
            case .ended(let end):
                if end.closedLocally || quitRequested { return end.exitStatus }
                result = end.exitStatus
                attempt = 0
            case .failed(let lines):
                console.error(lines: lines)
                result = .connectionFailed
            }
            guard settings.reconnect, !quitRequested else { return result }
            attempt += 1
            if let limit = settings.maxReconnects, attempt > limit {
                console.error("giving up after \(limit) reconnection attempt\(limit == 1 ? "" : "s")")
                return result
            }
            let delay = settings.backoff.delay(attempt: attempt, random: Double.random(in: 0..<1))
            console.status("Reconnecting in \(Self.format(seconds: delay)) (attempt \(attempt))")
            try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
        }
    }

    private var quitRequested: Bool { state.withLockedValue { $0.quitRequests > 0 } }

    private func connectFollowingRedirects() async -> Outcome {
        var url = settings.url
        var configuration = settings.configuration
        var redirects = 0
        while true {
            let parsed = try? WebSocketURL(parsing: url)
            do {
                let end = try await WebSocketClient.connect(
                    to: url,
                    configuration: configuration,
                    logger: Logger(label: "canal.connect", factory: { _ in SwiftLogNoOpLogHandler() })
                ) { inbound, outbound, _ in
                    await serve(inbound: inbound, outbound: outbound)
                }
                return .ended(end)
            } catch let error as WebSocketClientError {
                guard settings.followRedirects, let parsed, let status = error.status, Redirect.isRedirect(status.code),
                    redirects < settings.maxRedirects, let location = error.headers?.first(name: "Location")
                else {
                    return .failed(
                        ClientErrorReport.lines(for: error, url: parsed, followsRedirects: settings.followRedirects))
                }
                let next = Redirect.target(location: location, from: parsed)
                if let nextURL = try? WebSocketURL(parsing: next), nextURL.host != parsed.host {
                    // Credentials and a forced Host were meant for the first server only.
                    configuration.headers.remove(name: "Authorization")
                    configuration.headers.remove(name: "Host")
                }
                console.status("Redirected (HTTP \(status.code)) to \(next)")
                url = next
                redirects += 1
            } catch {
                return .failed(["could not connect: \(error)"])
            }
        }
    }

    /// One open connection.
    private func serve(inbound: WebSocketInbound, outbound: WebSocketOutbound) async -> ConnectionEnd {
        let items = hub.attach(id: 0)
        defer { hub.detach(id: 0) }
        console.status("Connected (press CTRL+C to quit)")
        var closeLater: (@Sendable () async -> Void)?
        if settings.execute.isEmpty {
            startInputIfNeeded()
        } else {
            for line in settings.execute { submit(line) }
            if settings.wait >= 0 {
                let (hub, wait) = (hub, settings.wait)
                closeLater = {
                    try? await Task.sleep(nanoseconds: UInt64(wait * 1_000_000_000))
                    guard !Task.isCancelled else { return }
                    hub.send(.close(code: .normalClosure, reason: ""))
                }
            }
        }
        let driver = ConnectionDriver(console: console, showPingPong: settings.showPingPong, label: nil)
        return await driver.run(inbound: inbound, outbound: outbound, items: items, alongside: closeLater)
    }

    /// Sends a typed, piped or `-x` line, or runs it as a slash command.
    private func submit(_ line: String) {
        guard let item = SlashCommand.outboundItem(for: line, slash: settings.slash, console: console) else { return }
        if hub.send(item) == 0 {
            console.error("not connected: not sent")
        }
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
            case .endOfInput: endOfInput()
            }
        }
    }

    /// Closes after `-w` seconds, or never with `-w -1`.
    private func endOfInput() {
        let wait = settings.waitAfterInput
        if wait == 0 { return requestQuit() }
        guard wait > 0 else { return }
        Task { [self] in
            try? await Task.sleep(nanoseconds: UInt64(wait * 1_000_000_000))
            requestQuit()
        }
    }

    /// Ctrl-C, SIGTERM or end of input: close with 1000; a second time, or while not
    /// connected, exit at once.
    private func requestQuit() {
        let count = state.withLockedValue { state in
            state.quitRequests += 1
            return state.quitRequests
        }
        if count == 1, hub.send(.close(code: .normalClosure, reason: "")) > 0 { return }
        ExitStatus.success.terminate(console: console)
    }

    static func format(seconds: Double) -> String {
        let tenths = Int((seconds * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) s"
    }
}
