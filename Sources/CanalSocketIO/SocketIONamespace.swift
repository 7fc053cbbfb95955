import CanalSocketIOCore
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A namespace (`io.of("/admin")`): its own middlewares, connection handlers, sockets and
/// rooms. The main namespace is `/`.
public final class SocketIONamespace: Sendable {
    public let name: String
    public let server: SocketIOServer
    /// Rooms and broadcasts; in memory unless the server was given another adapter.
    public let adapter: any SocketIOAdapter
    let sockets = SocketIOLocalSockets()
    let serverSideEvents = SocketIOServerSideEvents()
    let metrics: SocketIOMetrics
    private let middlewares = NIOLockedValueBox<[@Sendable (SocketIOSocket) async throws -> Void]>([])
    private let connectionHandlers = NIOLockedValueBox<[@Sendable (SocketIOSocket) -> Void]>([])
    private let ackIDs = NIOLockedValueBox(0)

    init(name: String, server: SocketIOServer) {
        self.name = name
        self.server = server
        self.metrics = server.metrics
        self.adapter = server.options.adapter(
            SocketIOAdapterContext(
                namespace: name, recovery: server.options.connectionStateRecovery, sockets: sockets,
                serverSideEvents: serverSideEvents))
    }

    /// A connection middleware (`use`): runs, in order, before a socket joins. Throw a
    /// `SocketIOConnectError` to refuse it (the client gets `connect_error` with its message
    /// and data); any other error refuses it with the error's description.
    public func use(_ middleware: @escaping @Sendable (SocketIOSocket) async throws -> Void) {
        middlewares.withLockedValue { $0.append(middleware) }
    }

    var hasMiddlewares: Bool { !middlewares.withLockedValue { $0.isEmpty } }

    /// Called on the socket's event loop for every socket that joins (`on("connection")`).
    public func onConnection(_ handler: @escaping @Sendable (SocketIOSocket) -> Void) {
        connectionHandlers.withLockedValue { $0.append(handler) }
    }

    /// How many sockets are connected to this namespace on this node.
    public var socketCount: Int { sockets.count }

    /// The local socket with this id.
    public func socket(id: String) -> SocketIOSocket? { sockets.socket(id) }

    // MARK: Broadcasting (`io.emit`, `io.to(room)`, ...)

    public var broadcastOperator: SocketIOBroadcastOperator { SocketIOBroadcastOperator(namespace: self) }

    /// Emits to every socket of the namespace. Throws for a reserved event name.
    public func emit(_ event: String, _ arguments: any SocketIOArgument...) throws {
        try broadcastOperator.emit(event, arguments: arguments.map(\.socketIOValue))
    }

    public func emit(_ event: String, arguments: [SocketIOValue]) throws {
        try broadcastOperator.emit(event, arguments: arguments)
    }

    /// `emit("message", ...)` to every socket.
    public func send(_ arguments: any SocketIOArgument...) {
        send(arguments: arguments.map(\.socketIOValue))
    }

    public func send(arguments: [SocketIOValue]) {
        try? broadcastOperator.emit("message", arguments: arguments)
    }

    public func to(_ rooms: String...) -> SocketIOBroadcastOperator { broadcastOperator.to(Set(rooms)) }
    public func `in`(_ rooms: String...) -> SocketIOBroadcastOperator { broadcastOperator.to(Set(rooms)) }
    public func except(_ rooms: String...) -> SocketIOBroadcastOperator { broadcastOperator.except(Set(rooms)) }
    public var volatile: SocketIOBroadcastOperator { broadcastOperator.volatile }
    public var local: SocketIOBroadcastOperator { broadcastOperator.local }
    public func timeout(_ timeout: TimeAmount) -> SocketIOBroadcastOperator { broadcastOperator.timeout(timeout) }

    public func fetchSockets() async throws -> [SocketIORemoteSocket] { try await broadcastOperator.fetchSockets() }
    public func socketsJoin(_ rooms: String...) { adapter.addSockets(SocketIOBroadcastOptions(), rooms: Set(rooms)) }
    public func socketsLeave(_ rooms: String...) { adapter.removeSockets(SocketIOBroadcastOptions(), rooms: Set(rooms)) }
    public func disconnectSockets(close: Bool = false) { broadcastOperator.disconnectSockets(close: close) }

    /// An event for the other servers of a cluster (their `onServerSideEmit`); nothing
    /// with the in-memory adapter.
    public func serverSideEmit(_ event: String, _ arguments: any SocketIOArgument...) {
        adapter.serverSideEmit([.string(event)] + arguments.map(\.socketIOValue))
    }

    func broadcast(_ packet: SocketIOPacket, options: SocketIOBroadcastOptions) {
        adapter.broadcast(packet, options: options)
    }

    func makeAckID() -> Int {
        ackIDs.withLockedValue { id in
            defer { id += 1 }
            return id
        }
    }

    // MARK: Joining

    /// Runs the middlewares, then (on success) connects the socket and calls the
    /// connection handlers. `skipMiddlewares` for recovered sessions.
    func admit(_ socket: SocketIOSocket, skipMiddlewares: Bool) async -> SocketIOConnectError? {
        guard !skipMiddlewares else { return nil }
        for middleware in middlewares.withLockedValue({ $0 }) {
            do {
                try await middleware(socket)
            } catch let error as SocketIOConnectError {
                return error
            } catch {
                return SocketIOConnectError("\(error)")
            }
        }
        return nil
    }

    func connected(_ socket: SocketIOSocket) {
        metrics.connectedSockets.increment()
        for handler in connectionHandlers.withLockedValue({ $0 }) { handler(socket) }
    }

    func recordDisconnect(_ reason: SocketIODisconnectReason) {
        metrics.connectedSockets.decrement()
        metrics.disconnect(reason)
    }

    /// Copies a dynamic group's middlewares and handlers into a child made for it.
    func inherit(from group: SocketIONamespaceGroup) {
        middlewares.withLockedValue { $0.append(contentsOf: group.middlewares.withLockedValue { $0 }) }
        connectionHandlers.withLockedValue { $0.append(contentsOf: group.connectionHandlers.withLockedValue { $0 }) }
    }
}

/// Namespaces made on demand (`io.of(/^\/dyn-\w+$/)`): a client connecting to a name the
/// matcher accepts gets a namespace of that name, with the group's middlewares and
/// connection handlers.
public final class SocketIONamespaceGroup: Sendable {
    let matches: @Sendable (String, SocketIOValue) -> Bool
    let middlewares = NIOLockedValueBox<[@Sendable (SocketIOSocket) async throws -> Void]>([])
    let connectionHandlers = NIOLockedValueBox<[@Sendable (SocketIOSocket) -> Void]>([])
    private let children = NIOLockedValueBox<[SocketIONamespace]>([])

    init(matches: @escaping @Sendable (String, SocketIOValue) -> Bool) {
        self.matches = matches
    }

    public func use(_ middleware: @escaping @Sendable (SocketIOSocket) async throws -> Void) {
        middlewares.withLockedValue { $0.append(middleware) }
    }

    public func onConnection(_ handler: @escaping @Sendable (SocketIOSocket) -> Void) {
        connectionHandlers.withLockedValue { $0.append(handler) }
    }

    /// The namespaces made so far.
    public var namespaces: [SocketIONamespace] { children.withLockedValue { $0 } }

    /// Emits to every socket of every namespace of the group.
    public func emit(_ event: String, _ arguments: any SocketIOArgument...) throws {
        for child in namespaces { try child.emit(event, arguments: arguments.map(\.socketIOValue)) }
    }

    func adopt(_ namespace: SocketIONamespace) {
        children.withLockedValue { $0.append(namespace) }
    }
}
