import CanalEngineIOCore
import CanalSocketIOCore
import NIOConcurrencyHelpers
import NIOCore

/// A client's connection to one namespace of a Socket.IO server, multiplexed with the
/// manager's other namespaces on one Engine.IO connection (socket.io-client's `Socket`).
///
/// Get one from `SocketIOManager.socket(namespace:auth:)`, or use
/// `SocketIOClient.connect(to:body:)`, which closes everything when its body ends. Listen
/// with closures (`on`, `onAny`, `onConnect`, ...) or read `events()` / `updates()` as
/// async sequences; emit with `emit`, `emitWithAck` (async, with a timeout) or `volatile`.
///
/// Closures run on the manager's event loop, one at a time and in order: keep them short
/// and hand long work to a task. Every method is safe to call from any thread.
public final class SocketIOClientSocket: Sendable {
    /// The namespace, such as `/` or `/admin`.
    public let namespace: String
    public let manager: SocketIOManager

    struct LoopState {
        var state: SocketIOClientSocketState
        var acks: [Int: @Sendable (Result<[SocketIOValue], any Error>) -> Void] = [:]
        var timer: Scheduled<Void>?
        var timerDeadline: NIODeadline?
        /// What failed, while a disconnection caused by it is reported.
        var disconnectDetail: String?
    }

    struct Listeners {
        var nextID = 0
        var events: [String: [(id: Int, handler: @Sendable (SocketIOClientEvent) -> Void)]] = [:]
        var any: [(id: Int, handler: @Sendable (SocketIOClientEvent) -> Void)] = []
        var anyOutgoing: [@Sendable (String, [SocketIOValue]) -> Void] = []
        var connect: [@Sendable (SocketIOClientConnectInfo) -> Void] = []
        var connectError: [@Sendable (SocketIOClientError) -> Void] = []
        var disconnect: [@Sendable (SocketIOClientDisconnectReason) -> Void] = []
        var drop: [@Sendable (SocketIOClientDroppedEmit) -> Void] = []
    }

    /// What other threads may read at any time.
    struct Snapshot {
        var id: String?
        var isActive = false
        var recovered = false
        var droppedCount = 0
        var auth: SocketIOValue?
    }

    let loop: NIOLoopBoundBox<LoopState>
    let listeners = NIOLockedValueBox(Listeners())
    let snapshot: NIOLockedValueBox<Snapshot>
    let subscribers = SocketIOClientSubscribers()

    init(namespace: String, manager: SocketIOManager, auth: SocketIOValue?) {
        self.namespace = namespace
        self.manager = manager
        let configuration = manager.configuration
        let state = SocketIOClientSocketState(
            namespace: namespace, offlineLimits: configuration.offlineBuffer,
            connectTimeout: configuration.connectTimeout)
        self.loop = NIOLoopBoundBox.makeBoxSendingValue(LoopState(state: state), eventLoop: manager.eventLoop)
        self.snapshot = NIOLockedValueBox(Snapshot(auth: auth))
    }

    var eventLoop: any EventLoop { manager.eventLoop }

    // MARK: State

    /// The socket's id on the server while connected (`socket.id`), else nil.
    public var id: String? { snapshot.withLockedValue { $0.id } }
    public var isConnected: Bool { id != nil }
    /// Whether the socket wants to be connected: from `connect()` until `disconnect()`, a
    /// refusal, or the server's disconnect. While active, the manager reconnects it.
    public var isActive: Bool { snapshot.withLockedValue { $0.isActive } }
    /// Whether the last connection recovered the session before it (connection state recovery).
    public var recovered: Bool { snapshot.withLockedValue { $0.recovered } }
    /// Emits dropped so far (offline buffer full, or volatile emits that could not go).
    public var droppedCount: Int { snapshot.withLockedValue { $0.droppedCount } }

    /// The auth object sent with each CONNECT (from the next connection on when changed).
    public var auth: SocketIOValue? {
        get { snapshot.withLockedValue { $0.auth } }
        set { snapshot.withLockedValue { $0.auth = newValue } }
    }

    // MARK: Connecting

    /// Connects to the namespace, opening the manager's connection if needed. Emits made
    /// before the connection completes wait in the offline buffer.
    public func connect() {
        snapshot.withLockedValue { $0.isActive = true }
        eventLoop.execute { self.manager.connectSocket(self) }
    }

    /// Leaves the namespace (DISCONNECT); the socket is not reconnected until `connect()`.
    /// The manager closes its connection once no socket is left.
    public func disconnect() {
        eventLoop.execute {
            self.perform(self.loop.value.state.disconnect())
            self.manager.socketBecameInactive()
        }
    }

    // MARK: Sequences

    /// Every update from now on: connections, refusals, events, disconnections,
    /// reconnection attempts, drops. Ends when the manager closes.
    public func updates() -> SocketIOClientUpdates {
        SocketIOClientUpdates(stream: subscribers.subscribe(limit: manager.configuration.incomingBufferLimit))
    }

    /// Every event from now on. See `SocketIOClientEvents` for when it ends or throws.
    public func events() -> SocketIOClientEvents {
        SocketIOClientEvents(updates: subscribers.subscribe(limit: manager.configuration.incomingBufferLimit))
    }

    // MARK: Listeners

    /// Calls `handler` for each `event` the server emits. Returns a token for `off(_:)`.
    @discardableResult
    public func on(_ event: String, _ handler: @escaping @Sendable (SocketIOClientEvent) -> Void) -> SocketIOListenerToken {
        listeners.withLockedValue { listeners in
            defer { listeners.nextID += 1 }
            listeners.events[event, default: []].append((listeners.nextID, handler))
            return SocketIOListenerToken(id: listeners.nextID)
        }
    }

    /// Calls `handler` with the first argument of each `event`, decoded as a `Value`;
    /// arguments that do not decode are reported to `onDecodingFailure` (if given) and skipped.
    @discardableResult
    public func on<Value: Decodable & Sendable>(
        _ event: String, as type: Value.Type,
        onDecodingFailure: (@Sendable (SocketIOClientError) -> Void)? = nil,
        _ handler: @escaping @Sendable (Value) -> Void
    ) -> SocketIOListenerToken {
        on(event) { received in
            do {
                handler(try received.decode(type))
            } catch let error as SocketIOClientError {
                onDecodingFailure?(error)
            } catch {}
        }
    }

    /// Calls `handler` for every event (socket.io-client's `onAny`), after the listeners of its name.
    @discardableResult
    public func onAny(_ handler: @escaping @Sendable (SocketIOClientEvent) -> Void) -> SocketIOListenerToken {
        listeners.withLockedValue { listeners in
            defer { listeners.nextID += 1 }
            listeners.any.append((listeners.nextID, handler))
            return SocketIOListenerToken(id: listeners.nextID)
        }
    }

    /// Calls `handler` with every event this socket sends, as it leaves.
    public func onAnyOutgoing(_ handler: @escaping @Sendable (String, [SocketIOValue]) -> Void) {
        listeners.withLockedValue { $0.anyOutgoing.append(handler) }
    }

    /// Removes every listener of `event`.
    public func off(_ event: String) {
        listeners.withLockedValue { _ = $0.events.removeValue(forKey: event) }
    }

    /// Removes one listener added by `on` or `onAny`.
    public func off(_ token: SocketIOListenerToken) {
        listeners.withLockedValue { listeners in
            for name in listeners.events.keys { listeners.events[name]?.removeAll { $0.id == token.id } }
            listeners.any.removeAll { $0.id == token.id }
        }
    }

    /// Each time the namespace accepts the socket (also after a reconnection).
    public func onConnect(_ handler: @escaping @Sendable (SocketIOClientConnectInfo) -> Void) {
        listeners.withLockedValue { $0.connect.append(handler) }
    }

    /// Each time connecting fails: a refusal (with the server's data), a failed connection,
    /// a timeout.
    public func onConnectError(_ handler: @escaping @Sendable (SocketIOClientError) -> Void) {
        listeners.withLockedValue { $0.connectError.append(handler) }
    }

    public func onDisconnect(_ handler: @escaping @Sendable (SocketIOClientDisconnectReason) -> Void) {
        listeners.withLockedValue { $0.disconnect.append(handler) }
    }

    /// Each emit that is dropped (see `SocketIOClientDroppedEmit`).
    public func onDrop(_ handler: @escaping @Sendable (SocketIOClientDroppedEmit) -> Void) {
        listeners.withLockedValue { $0.drop.append(handler) }
    }
}

/// Identifies a listener, for `SocketIOClientSocket.off(_:)`.
public struct SocketIOListenerToken: Sendable, Hashable {
    let id: Int
}
