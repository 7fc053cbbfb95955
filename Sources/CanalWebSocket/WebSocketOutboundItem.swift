import CanalWebSocketCore
import NIOCore

/// What an application can ask a connection to send.
public enum WebSocketOutboundItem: Sendable, Hashable {
    case message(WebSocketMessage)
    /// One fragment of a message streamed by the application; see `WebSocketConnection.sendFragment`.
    case fragment(ByteBuffer, kind: WebSocketMessage.Kind, isFinal: Bool)
    case ping(ByteBuffer)
    case pong(ByteBuffer)
    /// Starts the closing handshake; `code: nil` sends a close frame without a body.
    case close(code: WebSocketCloseCode?, reason: String)
}
