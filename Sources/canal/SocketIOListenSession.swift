import CanalHTTP
import CanalSocketIO
import CanalSocketIOCore
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// `canal io --listen PORT`: a Socket.IO server (every namespace accepted) that prints what
/// each client emits, labelled `[client 1]`, and emits what is typed to all of them.
final class SocketIOListenSession: Sendable {
    private struct State {
        var nextClient = 1
        var clients: [String: (number: Int, socket: SocketIOSocket)] = [:]
        var requests: [Int: SocketIOAck] = [:]
        var nextRequest = 1
        var inputStarted = false
        var quitRequests = 0
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    let host: String
    let port: Int
    let console: Console
    private let state = NIOLockedValueBox(State())

    init(host: String, port: Int, console: Console) {
        self.host = host
        self.port = port
        self.console = console
    }

    func run() async -> ExitStatus {
        let logger = Logger(label: "canal.io.listen", factory: { _ in SwiftLogNoOpLogHandler() })
        let io = SocketIOServer(logger: logger)
        let accept: @Sendable (SocketIOSocket) -> Void = { [self] socket in accepted(socket) }
        io.onConnection(accept)
        // Every namespace a client asks for exists.
        io.of(matching: { _, _ in true }).onConnection(accept)
        var router = HTTPRouter()
        io.install(on: &router)
        var configuration = HTTPServerConfiguration()
        // Engine.IO's heartbeat watches the connections; WebSocket pings would double it.
        configuration.webSocket.timeouts.keepaliveInterval = nil
        let server: HTTPServer
        do {
            server = try await HTTPServer.bind(
                host: host, port: port, router: router, configuration: configuration, logger: logger,
                accessLogger: nil)
        } catch {
            console.error("could not listen on \(host):\(port): \(ListenSession.describeBindError(error))")
            return .connectionFailed
        }
        let bound = server.localAddress.port ?? port
        console.status("Listening on port \(bound) (Socket.IO at /socket.io/; press CTRL+C to quit)")
        if isInteractive { startInputIfNeeded(io: io) }
        let signals = SignalWatcher { [self] in requestQuit(io: io) }
        let serving = Task { try? await server.run() }
        await withCheckedContinuation { continuation in
            let done = state.withLockedValue { state in
                if state.finished { return true }
                state.waiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
        signals.cancel()
        io.close()
        server.shutdown()
        _ = await serving.result
        return .success
    }

    private var isInteractive: Bool { console.style.decorated && Terminal.stdinIsTerminal }

    // MARK: Clients

    private func accepted(_ socket: SocketIOSocket) {
        let number = state.withLockedValue { state in
            defer { state.nextClient += 1 }
            state.clients[socket.namespace.name + " " + socket.id] = (state.nextClient, socket)
            return state.nextClient
        }
        let label = "client \(number)" + (socket.namespace.name == "/" ? "" : " \(socket.namespace.name)")
        var greeting = "Connected (id \(socket.id)"
        if !socket.handshake.address.isEmpty { greeting += ", from \(socket.handshake.address)" }
        if let auth = socket.handshake.auth.objectValue, auth.count > 0 {
            greeting += ", auth \(SocketIOJSON.string(socket.handshake.auth))"
        }
        console.status(greeting + ")", label: label)
        socket.onAny { [self] event in
            let rendered = SocketIOFormat.arguments(event.arguments)
            console.incoming(lines: rendered.lines(after: event.name), label: label)
            if let ack = event.ack {
                let request = state.withLockedValue { state in
                    defer { state.nextRequest += 1 }
                    state.requests[state.nextRequest] = ack
                    return state.nextRequest
                }
                console.info(["  (\(label) asks for an acknowledgement: /ack \(request) [ARG ...])"])
            }
        }
        socket.onDisconnect { [self] reason in
            state.withLockedValue { _ = $0.clients.removeValue(forKey: socket.namespace.name + " " + socket.id) }
            console.status("Disconnected (\(reason.rawValue))", label: label)
        }
        startInputIfNeeded(io: socket.namespace.server)
    }

    private var clients: [(label: String, socket: SocketIOSocket)] {
        state.withLockedValue { state in
            state.clients.values.sorted { $0.number < $1.number }.map { number, socket in
                ("client \(number)" + (socket.namespace.name == "/" ? "" : " \(socket.namespace.name)"), socket)
            }
        }
    }

    // MARK: What is typed

    private func startInputIfNeeded(io: SocketIOServer) {
        let first = state.withLockedValue { state in
            defer { state.inputStarted = true }
            return !state.inputStarted
        }
        guard first else { return }
        InputReader.start(interactive: isInteractive, console: console) { [self] event in
            switch event {
            case .line(let line): submit(line, io: io)
            case .interrupt, .endOfInput: requestQuit(io: io)
            }
        }
    }

    private func submit(_ line: String, io: SocketIOServer) {
        let input: SocketIOInput
        switch SocketIOInput.parse(line) {
        case .failure(let error): return console.error(error.description)
        case .success(let parsed): input = parsed
        }
        let targets = clients
        switch input {
        case .message(let text):
            emit("message", [.string(text)], to: targets)
        case .emit(let event, let arguments):
            emit(event, arguments, to: targets)
        case .call(let event, let arguments):
            guard !targets.isEmpty else { return console.error("no client is connected: not sent") }
            for (label, socket) in targets {
                Task {
                    do {
                        let answer = try await socket.emitWithAck(event, arguments: arguments, timeout: .seconds(10))
                        console.incoming(lines: SocketIOFormat.arguments(answer).lines(after: "ack \(event)"), label: label)
                    } catch {
                        console.error("no acknowledgement for \(DisplayText.quoted(event)): \(error)", label: label)
                    }
                }
            }
        case .answer(let id, let arguments):
            guard let ack = state.withLockedValue({ $0.requests.removeValue(forKey: id) }) else {
                return console.error("there is no acknowledgement request #\(id) (or it was answered)")
            }
            ack(arguments: arguments)
        case .disconnect:
            for (_, socket) in targets { socket.disconnect() }
        case .join, .leave:
            console.error("/join and /leave are for client mode; clients choose their namespaces")
        case .help:
            console.info(SocketIOInput.listenHelp.split(separator: "\n").map(String.init))
        }
    }

    private func emit(_ event: String, _ arguments: [SocketIOValue], to targets: [(label: String, socket: SocketIOSocket)]) {
        guard !targets.isEmpty else { return console.error("no client is connected: not sent") }
        for (_, socket) in targets {
            do {
                try socket.emit(event, arguments: arguments)
            } catch {
                return console.error("not sent: \(error)")
            }
        }
    }

    // MARK: Ending

    /// Disconnects every client and stops; a second request exits at once.
    private func requestQuit(io: SocketIOServer) {
        let count = state.withLockedValue { state in
            state.quitRequests += 1
            return state.quitRequests
        }
        guard count == 1 else { ExitStatus.success.terminate(console: console) }
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
