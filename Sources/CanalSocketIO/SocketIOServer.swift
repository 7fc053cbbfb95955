import CanalEngineIO
import CanalEngineIOCore
import CanalHTTP
import CanalSocketIOCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A Socket.IO v4 server (protocol v5 over Engine.IO v4) that the official JavaScript
/// client and python-socketio talk to unchanged, mounted on a Canal `HTTPRouter` beside
/// routes and static files, as `new Server(httpServer)` is in Node:
///
/// ```swift
/// let io = SocketIOServer()
/// io.onConnection { socket in
///     print("new connection: \(socket.id)")
///     socket.on("chat") { event in try? io.emit("chat", arguments: event.arguments) }
///     socket.onDisconnect { reason in print("connection ended: \(reason)") }
/// }
/// var router = HTTPRouter()
/// io.install(on: &router)                  // /socket.io/ and /socket.io/socket.io.js
/// try router.serveFiles(from: "public")
/// let server = try await HTTPServer.bind(host: "127.0.0.1", port: 8080, router: router)
/// try await server.run()
/// ```
///
/// The main namespace's API (`emit`, `to`, `use`, `onConnection`, ...) is on the server
/// itself; other namespaces come from `of(_:)`.
public final class SocketIOServer: Sendable {
    public let options: SocketIOServerOptions
    public let engine: EngineServer
    let group: any EventLoopGroup
    let logger: Logger
    let metrics: SocketIOMetrics
    private let namespaces = NIOLockedValueBox<[String: SocketIONamespace]>([:])
    private let groups = NIOLockedValueBox<[SocketIONamespaceGroup]>([])
    private let shuttingDown = NIOLockedValueBox(false)

    public init(
        options: SocketIOServerOptions = SocketIOServerOptions(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "canal.socketio")
    ) {
        self.options = options
        self.metrics = SocketIOMetrics(factory: options.metricsFactory)
        self.group = eventLoopGroup
        self.logger = logger
        self.engine = EngineServer(options: options.engine, eventLoopGroup: eventLoopGroup, logger: logger)
        engine.onConnection { [weak self] socket in
            guard let self else { return }
            SocketIOConnection(engine: socket, server: self).start()
        }
    }

    /// The main namespace, `/`.
    public var mainNamespace: SocketIONamespace { of("/") }

    /// The namespace of this name, made on first use.
    public func of(_ name: String) -> SocketIONamespace {
        let name = name.hasPrefix("/") ? name : "/" + name
        return namespaces.withLockedValue { namespaces in
            if let namespace = namespaces[name] { return namespace }
            let namespace = SocketIONamespace(name: name, server: self)
            namespaces[name] = namespace
            return namespace
        }
    }

    /// Dynamic namespaces: every name `matches` accepts (given the client's auth) gets a
    /// namespace on first connection, with the group's middlewares and handlers.
    public func of(matching matches: @escaping @Sendable (_ name: String, _ auth: SocketIOValue) -> Bool)
        -> SocketIONamespaceGroup
    {
        let group = SocketIONamespaceGroup(matches: matches)
        groups.withLockedValue { $0.append(group) }
        return group
    }

    /// Dynamic namespaces whose names match a regular expression, such as `/^\/dyn-\w+$/`.
    public func of(pattern: String) throws -> SocketIONamespaceGroup {
        // Checked once here; each match compiles its own copy, as Regex is not Sendable.
        _ = try Regex(pattern)
        return of(matching: { name, _ in
            guard let expression = try? Regex(pattern) else { return false }
            return (try? expression.wholeMatch(in: name)) != nil
        })
    }

    /// The namespace a CONNECT asks for: an existing one, or one a group makes.
    func namespace(named name: String, auth: SocketIOValue) -> SocketIONamespace? {
        if let namespace = namespaces.withLockedValue({ $0[name] }) { return namespace }
        for group in groups.withLockedValue({ $0 }) where group.matches(name, auth) {
            let namespace = of(name)
            namespace.inherit(from: group)
            group.adopt(namespace)
            return namespace
        }
        return nil
    }

    var recoversSessions: Bool { options.connectionStateRecovery != nil }
    var isShuttingDown: Bool { shuttingDown.withLockedValue { $0 } }

    // MARK: Serving

    /// Answers Socket.IO at `options.engine.path` on the router, and the browser client at
    /// `<path>socket.io.js` unless `serveClient` is off.
    public func install(on router: inout HTTPRouter) {
        _ = mainNamespace
        engine.install(on: &router)
        if options.serveClient, let script = SocketIOClientScript.bundled {
            script.install(on: &router, path: options.engine.path + "socket.io.js")
        }
    }

    /// Disconnects every client with "server shutting down" and refuses new ones, so that
    /// clients reconnect once the server is back (or to another node of a cluster). Call
    /// it before the HTTP server's shutdown.
    public func close() {
        shuttingDown.withLockedValue { $0 = true }
        engine.shutdown()
    }

    // MARK: The main namespace

    public func use(_ middleware: @escaping @Sendable (SocketIOSocket) async throws -> Void) {
        mainNamespace.use(middleware)
    }

    public func onConnection(_ handler: @escaping @Sendable (SocketIOSocket) -> Void) {
        mainNamespace.onConnection(handler)
    }

    public func emit(_ event: String, _ arguments: any SocketIOArgument...) throws {
        try mainNamespace.emit(event, arguments: arguments.map(\.socketIOValue))
    }

    public func emit(_ event: String, arguments: [SocketIOValue]) throws {
        try mainNamespace.emit(event, arguments: arguments)
    }

    /// `io.send(...)`: `message` to everybody.
    public func send(_ arguments: any SocketIOArgument...) {
        mainNamespace.send(arguments: arguments.map(\.socketIOValue))
    }

    public func send(arguments: [SocketIOValue]) {
        mainNamespace.send(arguments: arguments)
    }

    public func to(_ rooms: String...) -> SocketIOBroadcastOperator { mainNamespace.broadcastOperator.to(Set(rooms)) }
    public func `in`(_ rooms: String...) -> SocketIOBroadcastOperator { mainNamespace.broadcastOperator.to(Set(rooms)) }
    public func except(_ rooms: String...) -> SocketIOBroadcastOperator {
        mainNamespace.broadcastOperator.except(Set(rooms))
    }
    public var volatile: SocketIOBroadcastOperator { mainNamespace.volatile }
    public var local: SocketIOBroadcastOperator { mainNamespace.local }
    public func timeout(_ timeout: TimeAmount) -> SocketIOBroadcastOperator { mainNamespace.timeout(timeout) }
    public func fetchSockets() async throws -> [SocketIORemoteSocket] { try await mainNamespace.fetchSockets() }
    public func socketsJoin(_ rooms: String...) {
        mainNamespace.adapter.addSockets(SocketIOBroadcastOptions(), rooms: Set(rooms))
    }
    public func socketsLeave(_ rooms: String...) {
        mainNamespace.adapter.removeSockets(SocketIOBroadcastOptions(), rooms: Set(rooms))
    }
    public func disconnectSockets(close: Bool = false) { mainNamespace.disconnectSockets(close: close) }

    /// 20 random characters of URL-safe base64, as the official ids.
    static func makeID() -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var bytes = [UInt8](repeating: 0, count: 20)
        for index in bytes.indices { bytes[index] = alphabet[Int(generator.next() & 63)] }
        return String(decoding: bytes, as: UTF8.self)
    }
}
