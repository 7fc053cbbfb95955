import CanalWebSocket
import NIOConcurrencyHelpers

/// Routes what the person types to the open connections: one in client mode, all of
/// them in listen mode. Each connection drains its own stream, so items keep their order.
final class InputHub: Sendable {
    private let sinks = NIOLockedValueBox([Int: AsyncStream<WebSocketOutboundItem>.Continuation]())

    /// Registers a connection; what is sent from now on arrives on the returned stream.
    func attach(id: Int) -> AsyncStream<WebSocketOutboundItem> {
        let (stream, continuation) = AsyncStream.makeStream(of: WebSocketOutboundItem.self)
        sinks.withLockedValue { $0[id] = continuation }
        return stream
    }

    /// Unregisters a connection and ends its stream.
    func detach(id: Int) {
        let continuation = sinks.withLockedValue { $0.removeValue(forKey: id) }
        continuation?.finish()
    }

    /// Queues `item` on every attached connection and says how many there were.
    @discardableResult
    func send(_ item: WebSocketOutboundItem) -> Int {
        let targets = sinks.withLockedValue { Array($0.values) }
        for continuation in targets { continuation.yield(item) }
        return targets.count
    }

    var connectionCount: Int { sinks.withLockedValue { $0.count } }
}
