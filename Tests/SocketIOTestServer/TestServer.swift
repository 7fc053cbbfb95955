// The Socket.IO server the Python and browser suites drive: Tests/socketio/CONTRACT.md,
// implemented with Canal.
import ArgumentParser
import CanalEngineIO
import CanalEngineIOCore
import CanalEngineIORedis
import CanalHTTP
import CanalRedis
import CanalSocketIO
import CanalSocketIOCore
import CanalSocketIORedis
import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

@main
struct TestServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canal-sio-testserver",
        abstract: "The Socket.IO test server of Tests/socketio/CONTRACT.md.")

    @Option var port = 0
    @Option var transports = "polling,websocket"
    @Flag var noUpgrades = false
    @Option var pingInterval = 25_000
    @Option var pingTimeout = 20_000
    @Option var connectTimeout = 45_000
    @Option var maxHttpBufferSize = 1_000_000
    @Flag var recovery = false
    @Option var recoveryDuration = 120_000
    @Option(name: .customLong("static")) var staticDirectory: String?
    @Option var cors = "*"
    @Option var upgradeTimeout = 10_000
    @Option var maxBufferedBytes = 4 * 1024 * 1024
    @Option var maxPendingPackets = 10_000
    @Flag var noServeClient = false
    @Option(help: "Join a cluster through this Redis (redis:// or rediss:// URL).") var redis: String?
    @Option(help: "This server's name, which the `server-name` event answers.") var name = ""
    @Option(help: "Cluster heartbeat interval in ms (with --redis).") var heartbeatInterval = 5_000
    @Flag(help: "With --redis: serve requests for other servers' sessions by relaying them (no sticky sessions).")
    var forward = false
    @Flag var verbose = false

    func run() async throws {
        var logger = Logger(label: "canal-sio-testserver")
        logger.logLevel = verbose ? .debug : .warning
        var engine = EngineConfiguration()
        engine.pingInterval = .milliseconds(Int64(pingInterval))
        engine.pingTimeout = .milliseconds(Int64(pingTimeout))
        engine.maxHttpBufferSize = maxHttpBufferSize
        engine.upgradeTimeout = .milliseconds(Int64(upgradeTimeout))
        engine.maxBufferedBytes = maxBufferedBytes
        engine.maxPendingPackets = maxPendingPackets
        engine.allowUpgrades = !noUpgrades
        engine.transports = transports.split(separator: ",").compactMap { EngineTransport(rawValue: String($0)) }
        var forwarder: EngineRedisForwarder?
        if forward, let redis {
            let interval = TimeAmount.milliseconds(Int64(heartbeatInterval))
            let client = try await RedisConnection.connect(to: RedisConfiguration(url: redis), logger: logger)
            forwarder = EngineRedisForwarder(
                redis: client, options: EngineForwardingOptions(heartbeatInterval: interval, addressExpiry: interval * 3),
                logger: logger)
        }
        var options = SocketIOServerOptions(engine: EngineServerOptions(engine: engine, forwarder: forwarder))
        options.connectTimeout = .milliseconds(Int64(connectTimeout))
        options.serveClient = !noServeClient
        if recovery {
            options.connectionStateRecovery = .init(maxDisconnectionDuration: .milliseconds(Int64(recoveryDuration)))
        }
        var cluster: SocketIORedisCluster?
        if let redis {
            let interval = TimeAmount.milliseconds(Int64(heartbeatInterval))
            cluster = try await SocketIORedisCluster.connect(
                url: redis,
                options: SocketIORedisOptions(
                    heartbeatInterval: interval, heartbeatTimeout: interval * 2,
                    sessionRefreshInterval: min(interval, .seconds(1))),
                logger: logger)
            options.adapter = cluster!.adapter
        }
        let io = SocketIOServer(options: options, logger: logger)
        let disconnects = Disconnects()
        let serverName = name

        io.use { socket in
            if socket.handshake.auth["token"]?.stringValue == "reject" {
                throw SocketIOConnectError("not authorized", data: ["reason": "bad token", "code": 4001])
            }
        }
        io.of("/admin").use { socket in
            let role = socket.handshake.auth["role"] ?? .null
            guard role.stringValue == "admin" else {
                throw SocketIOConnectError("admin only", data: .object(SocketIOObject([("role", role)])))
            }
        }
        let dynamic = try io.of(pattern: "/dyn-[a-z0-9]+")
        let setup: @Sendable (SocketIOSocket) -> Void = { socket in
            Self.contract(socket, disconnects: disconnects)
            socket.on("server-name") { event in event.ack?(arguments: [.string(serverName)]) }
        }
        io.onConnection(setup)
        io.of("/admin").onConnection(setup)
        dynamic.onConnection(setup)

        var router = HTTPRouter()
        io.install(on: &router)
        if let staticDirectory { try router.serveFiles(from: staticDirectory) }
        var configuration = HTTPServerConfiguration()
        configuration.cors = HTTPCORSConfiguration(allowedOrigins: cors == "*" ? .any : .only([cors]))
        configuration.maxBodySize = max(configuration.maxBodySize, maxHttpBufferSize * 2)
        // Engine.IO applies maxHttpBufferSize to WebSocket messages itself; the WebSocket
        // layer's own limits must not be lower.
        configuration.webSocket.webSocket.maxMessageSize = max(configuration.webSocket.webSocket.maxMessageSize, maxHttpBufferSize * 2)
        configuration.webSocket.webSocket.maxFrameSize = max(configuration.webSocket.webSocket.maxFrameSize, maxHttpBufferSize * 2)
        configuration.webSocket.timeouts.keepaliveInterval = nil
        let server = try await HTTPServer.bind(
            host: "127.0.0.1", port: port, router: router, configuration: configuration, logger: logger,
            accessLogger: nil)
        let stop = SignalStop {
            io.close()
            server.shutdown()
        }
        try await forwarder?.advertise("http://127.0.0.1:\(server.localAddress.port ?? port)").get()
        print("listening on http://127.0.0.1:\(server.localAddress.port ?? port)/")
        fflush(nil)
        try await server.run()
        stop.cancel()
        await forwarder?.close()
        await cluster?.close()
    }

    static func contract(_ socket: SocketIOSocket, disconnects: Disconnects) {
        let namespace = socket.namespace
        try? socket.emit(
            "welcome",
            SocketIOValue.object(SocketIOObject([
                ("id", .string(socket.id)), ("nsp", .string(namespace.name)), ("auth", socket.handshake.auth),
                ("recovered", .bool(socket.recovered)),
            ])))
        socket.on("echo") { event in try? socket.emit("echo", arguments: event.arguments) }
        socket.on("message") { event in try? socket.emit("message", arguments: event.arguments) }
        socket.on("echo-ack") { event in event.ack?(arguments: event.arguments) }
        let sortedRooms: @Sendable () -> SocketIOValue = { .array(socket.rooms.sorted().map { .string($0) }) }
        socket.on("join") { event in
            if let room = event[0]?.stringValue { socket.join(room) }
            event.ack?(arguments: [sortedRooms()])
        }
        socket.on("leave") { event in
            if let room = event[0]?.stringValue { socket.leave(room) }
            event.ack?(arguments: [sortedRooms()])
        }
        socket.on("rooms") { event in event.ack?(arguments: [sortedRooms()]) }
        socket.on("to-room") { event in
            guard let spec = event[0], let room = spec["room"]?.stringValue, let name = spec["event"]?.stringValue
            else { return }
            try? namespace.to(room).emit(name, arguments: spec["args"]?.arrayValue ?? [])
        }
        socket.on("to-room-except") { event in
            guard let spec = event[0], let room = spec["room"]?.stringValue, let name = spec["event"]?.stringValue,
                let except = spec["except"]?.stringValue
            else { return }
            try? namespace.to(room).except(except).emit(name, arguments: spec["args"]?.arrayValue ?? [])
        }
        socket.on("broadcast") { event in
            guard let spec = event[0], let name = spec["event"]?.stringValue else { return }
            try? namespace.emit(name, arguments: spec["args"]?.arrayValue ?? [])
        }
        socket.on("broadcast-others") { event in
            guard let spec = event[0], let name = spec["event"]?.stringValue else { return }
            try? socket.broadcast.emit(name, arguments: spec["args"]?.arrayValue ?? [])
        }
        socket.on("ask") { event in
            guard let spec = event[0], let name = spec["event"]?.stringValue else { return }
            let timeout = TimeAmount.milliseconds(Int64(spec["timeout_ms"]?.intValue ?? 5000))
            try? socket.emit(name, arguments: spec["args"]?.arrayValue ?? [], timeout: timeout) { result in
                switch result {
                case .success(let answer):
                    try? socket.emit("ask-result", ["ok": true, "response": .array(answer)] as SocketIOValue)
                case .failure:
                    try? socket.emit("ask-result", ["ok": false, "error": "timeout"] as SocketIOValue)
                }
            }
        }
        socket.on("ask-all", task: { event in
            guard let spec = event[0], let name = spec["event"]?.stringValue else { return }
            let timeout = TimeAmount.milliseconds(Int64(spec["timeout_ms"]?.intValue ?? 5000))
            func sorted(_ answers: [[SocketIOValue]]) -> SocketIOValue {
                let firsts = answers.map { $0.first ?? .null }
                return .array(firsts.sorted { SocketIOJSON.string($0) < SocketIOJSON.string($1) })
            }
            do {
                let answers = try await namespace.timeout(timeout).emitWithAck(name, arguments: spec["args"]?.arrayValue ?? [])
                try socket.emit("ask-all-result", ["ok": true, "responses": sorted(answers)] as SocketIOValue)
            } catch let error as SocketIOBroadcastAckTimeout {
                try socket.emit(
                    "ask-all-result", ["ok": false, "error": "timeout", "responses": sorted(error.responses)] as SocketIOValue)
            }
        })
        socket.on("fetch-sockets", task: { event in
            var target = namespace.broadcastOperator
            if let room = event[0]?["room"]?.stringValue { target = target.to(room) }
            let ids = try await target.fetchSockets().map(\.id).sorted()
            event.ack?(arguments: [.array(ids.map { .string($0) })])
        })
        socket.on("make-join") { event in
            guard let room = event[0]?["room"]?.stringValue, let target = event[0]?["target"]?.stringValue else { return }
            namespace.to(room).socketsJoin(target)
            event.ack?(true)
        }
        socket.on("make-leave") { event in
            guard let room = event[0]?["room"]?.stringValue, let target = event[0]?["target"]?.stringValue else { return }
            namespace.to(room).socketsLeave(target)
            event.ack?(true)
        }
        socket.on("disconnect-room") { event in
            guard let room = event[0]?["room"]?.stringValue else { return }
            namespace.to(room).disconnectSockets()
        }
        socket.on("disconnect-me") { _ in socket.disconnect() }
        socket.on("emit-later") { event in
            guard let spec = event[0], let name = spec["event"]?.stringValue else { return }
            let delay = TimeAmount.milliseconds(Int64(spec["delay_ms"]?.intValue ?? 0))
            let arguments = spec["args"]?.arrayValue ?? []
            socket.eventLoop.scheduleTask(in: delay) { try? namespace.emit(name, arguments: arguments) }
        }
        socket.on("binary-hello") { _ in
            let all = ByteBuffer(bytes: (0...255).map { UInt8($0) })
            let value: SocketIOValue = [
                "all": .binary(all), "nested": [["b": .binary(ByteBuffer(bytes: [1, 2, 3]))]], "text": "ok",
            ]
            try? socket.emit("binary", value)
        }
        socket.on("server-stats") { event in
            event.ack?(["sessions": .number(SocketIONumber(namespace.server.engine.sessionCount))] as SocketIOValue)
        }
        socket.on("last-disconnects") { event in
            event.ack?(arguments: [disconnects.list(namespace.name)])
        }
        let id = socket.id
        socket.onDisconnect { reason in disconnects.add(namespace.name, id: id, reason: reason.rawValue) }
    }
}

/// The last disconnections of each namespace.
final class Disconnects: Sendable {
    private let entries = NIOLockedValueBox<[String: [(String, String)]]>([:])

    func add(_ namespace: String, id: String, reason: String) {
        entries.withLockedValue { entries in
            entries[namespace, default: []].append((id, reason))
            if entries[namespace]!.count > 20 { entries[namespace]!.removeFirst() }
        }
    }

    func list(_ namespace: String) -> SocketIOValue {
        let list = entries.withLockedValue { $0[namespace] ?? [] }
        return .array(list.map { .object(SocketIOObject([("id", .string($0.0)), ("reason", .string($0.1))])) })
    }
}

/// Runs `action` once on SIGINT or SIGTERM.
final class SignalStop {
    private let sources: [any DispatchSourceSignal]

    init(_ action: @escaping @Sendable () -> Void) {
        let once = NIOLockedValueBox(false)
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                guard !once.withLockedValue({ fired in defer { fired = true }; return fired }) else { return }
                action()
            }
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
