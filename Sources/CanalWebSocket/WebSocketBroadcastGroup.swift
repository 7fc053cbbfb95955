import CanalWebSocketCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The server connections that should all get the same messages (a feed, a room), each
/// framed once for all of them (`WebSocketPreEncodedMessage`).
///
/// Use `handler()` as the route's handler; connections join when they open and leave when
/// they close. `broadcast` may be called from any thread: each event loop gets one task
/// that sends the message to its connections.
///
/// ```swift
/// let feed = WebSocketBroadcastGroup()
/// router.webSocket("/feed", handler: feed.handler())
/// feed.broadcast(#"{"celsius":21.5}"#)
/// ```
public final class WebSocketBroadcastGroup: Sendable {
    private struct Member {
        let socket: NIOLoopBound<WebSocketLoopSocket>
    }

    private struct Group {
        let eventLoop: EventLoop
        var members: [UInt64: Member] = [:]
    }

    private struct State {
        var groups: [ObjectIdentifier: Group] = [:]
        var count = 0
        var nextKey: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Connections in the group now.
    public var count: Int { state.withLockedValue { $0.count } }

    /// A handler that adds each connection to the group until it closes, and passes the
    /// messages it receives to `onMessage` (ignored by default).
    public func handler(
        onMessage: @escaping @Sendable (WebSocketMessage) -> Void = { _ in }
    ) -> WebSocketServerHandler {
        .eventLoopWithSocket { [self] _, socket in
            // The upgrader calls this on the connection's event loop, before the socket's
            // channel is set.
            guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return { _, _ in } }
            let key = state.withLockedValue { state -> UInt64 in
                state.nextKey += 1
                state.groups[ObjectIdentifier(loop), default: Group(eventLoop: loop)].members[state.nextKey] = Member(
                    socket: NIOLoopBound(socket, eventLoop: loop))
                state.count += 1
                return state.nextKey
            }
            return { [self] event, _ in
                switch event {
                case .message(let message): onMessage(message)
                case .closed: remove(key, loop: loop)
                case .ping, .pong, .closeReceived: break
                }
            }
        }
    }

    private func remove(_ key: UInt64, loop: EventLoop) {
        state.withLockedValue { state in
            let loopKey = ObjectIdentifier(loop)
            guard state.groups[loopKey]?.members.removeValue(forKey: key) != nil else { return }
            state.count -= 1
            if state.groups[loopKey]?.members.isEmpty == true { state.groups[loopKey] = nil }
        }
    }

    /// Sends `text` to every connection; returns how many there were.
    @discardableResult
    public func broadcast(_ text: String) -> Int {
        broadcast(WebSocketPreEncodedMessage(.text(text)))
    }

    /// Sends a message framed once for all; returns how many connections there were.
    @discardableResult
    public func broadcast(_ message: WebSocketPreEncodedMessage) -> Int {
        state.withLockedValue { state in
            for group in state.groups.values {
                let members = Array(group.members.values)
                group.eventLoop.execute {
                    for member in members { member.socket.value.send(message.message) }
                }
            }
            return state.count
        }
    }
}
