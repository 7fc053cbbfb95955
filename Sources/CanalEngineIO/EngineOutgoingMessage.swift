import CanalEngineIOCore
import CanalWebSocket
import NIOCore

/// A message to send to one or many Engine.IO sessions, encoded once: the `message` packet
/// for polling sessions and, for WebSocket sessions, one frame shared by all of them.
public struct EngineOutgoingMessage: Sendable {
    public let packet: EnginePacket
    let webSocketMessage: WebSocketMessage

    public init(_ message: EngineMessage) {
        packet = .message(message)
        switch message {
        case .text:
            webSocketMessage = WebSocketPreEncodedMessage(.init(kind: .text, data: packet.webSocketText())).message
        case .binary(let data):
            webSocketMessage = WebSocketPreEncodedMessage(.binary(data)).message
        }
    }

    /// A text message whose WebSocket text, `4` followed by the data, the caller already
    /// wrote (so that the data is not copied again): `webSocketText` starts with `4`.
    public init(webSocketText: ByteBuffer) {
        precondition(webSocketText.readableBytesView.first == EnginePacketType.message.digit)
        packet = EnginePacket(
            .message, data: webSocketText.getSlice(at: webSocketText.readerIndex + 1, length: webSocketText.readableBytes - 1)!)
        webSocketMessage = WebSocketPreEncodedMessage(.init(kind: .text, data: webSocketText)).message
    }

    /// The same, for one receiver: no shared frame cache.
    init(single webSocketText: ByteBuffer) {
        packet = EnginePacket(
            .message, data: webSocketText.getSlice(at: webSocketText.readerIndex + 1, length: webSocketText.readableBytes - 1)!)
        webSocketMessage = .init(kind: .text, data: webSocketText)
    }

    /// The same message, framed for one receiver only (no frame cache to fill).
    public static func single(_ message: EngineMessage) -> EngineOutgoingMessage {
        switch message {
        case .text(let data):
            var text = ByteBuffer()
            text.reserveCapacity(data.readableBytes + 1)
            text.writeInteger(EnginePacketType.message.digit)
            text.writeImmutableBuffer(data)
            return EngineOutgoingMessage(single: text)
        case .binary:
            return EngineOutgoingMessage(message)
        }
    }

    /// For one receiver, from text that already starts with `4`.
    public static func single(webSocketText: ByteBuffer) -> EngineOutgoingMessage {
        EngineOutgoingMessage(single: webSocketText)
    }
}
