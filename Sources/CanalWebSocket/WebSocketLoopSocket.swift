import CanalWebSocketCore
import NIOCore

/// The connection as seen from an event-loop callback. Valid only on the channel's event loop.
public struct WebSocketLoopSocket {
    let handler: WebSocketChannelHandler

    /// Queues a message; it is flushed at the end of the current read burst.
    public func send(_ message: WebSocketMessage) {
        handler.send(.message(message))
    }

    /// Queues a message and learns when it was written to the socket.
    public func send(_ message: WebSocketMessage, promise: EventLoopPromise<Void>?) {
        handler.send(.message(message), promise: promise)
    }

    public func ping(_ payload: ByteBuffer = ByteBuffer()) {
        handler.send(.ping(payload))
    }

    public func close(code: WebSocketCloseCode? = .normalClosure, reason: String = "") {
        handler.send(.close(code: code, reason: reason))
    }

    /// The connection's channel, while it is open: its event loop, addresses and
    /// writability (`channel.isWritable` turns false when the socket's send buffer is full).
    public var channel: Channel? {
        handler.channel
    }
}
