import CanalSocketIOCore
import NIOConcurrencyHelpers

/// Events other servers of a cluster send with `serverSideEmit` (not clients): a cluster
/// adapter hands them in with `receive`, the namespace's `onServerSideEmit` handlers get
/// them. Nothing arrives with the in-memory adapter.
public final class SocketIOServerSideEvents: Sendable {
    /// A received event: its arguments (the name first) and, when the sender waits for
    /// answers, `reply` to send this server's one.
    public struct Event: Sendable {
        public var arguments: [SocketIOValue]
        public var reply: (@Sendable ([SocketIOValue]) -> Void)?
    }

    private let handlers = NIOLockedValueBox<[@Sendable (Event) -> Void]>([])

    public init() {}

    func on(_ handler: @escaping @Sendable (Event) -> Void) {
        handlers.withLockedValue { $0.append(handler) }
    }

    /// Called by a cluster adapter for each event from another server.
    public func receive(_ arguments: [SocketIOValue], reply: (@Sendable ([SocketIOValue]) -> Void)?) {
        let event = Event(arguments: arguments, reply: reply)
        for handler in handlers.withLockedValue({ $0 }) { handler(event) }
    }
}

extension SocketIONamespace {
    /// Calls `handler` for each `serverSideEmit` of another server of the cluster
    /// (`io.on(...)` for server-side events in the official server).
    public func onServerSideEmit(_ handler: @escaping @Sendable (SocketIOServerSideEvents.Event) -> Void) {
        serverSideEvents.on(handler)
    }
}
