import NIOCore

/// A negotiated extension that transforms message payloads (RFC 6455 §9), such as
/// permessage-deflate. It lives as long as one connection and is used from one thread.
public protocol WebSocketExtension: AnyObject {
    /// The extension token, as in `Sec-WebSocket-Extensions`.
    var name: String { get }

    /// The reserved bits the extension sets on the first frame of a transformed message.
    var reservedBits: UInt8 { get }

    /// Decodes one frame's payload of a message marked with `reservedBits`.
    /// Produces at most `limit` bytes, or fails with 1009 (`messageTooBig`).
    func decode(_ payload: ByteBuffer, isFinal: Bool, limit: Int) -> Result<ByteBuffer, WebSocketProtocolError>

    /// Encodes an outgoing message, or returns nil to send it as it is.
    func encode(_ message: ByteBuffer) -> ByteBuffer?

    /// The connection ended: free anything held.
    func release()
}

/// The negotiated extensions as one unit. At most one may use RSV1.
struct WebSocketExtensionPipeline {
    private let extensions: [any WebSocketExtension]
    let reservedBits: UInt8

    init(_ extensions: [any WebSocketExtension]) {
        self.extensions = extensions
        self.reservedBits = extensions.reduce(0) { $0 | $1.reservedBits }
    }

    func decode(_ payload: ByteBuffer, isFinal: Bool, limit: Int) -> Result<ByteBuffer, WebSocketProtocolError> {
        guard let codec = extensions.first(where: { $0.reservedBits & WebSocketFrameHeader.rsv1 != 0 }) else {
            return .failure(WebSocketProtocolError(.reservedBitsSet))
        }
        return codec.decode(payload, isFinal: isFinal, limit: limit)
    }

    func encode(_ message: ByteBuffer) -> ByteBuffer? {
        guard let codec = extensions.first(where: { $0.reservedBits & WebSocketFrameHeader.rsv1 != 0 }) else {
            return nil
        }
        return codec.encode(message)
    }

    func release() {
        for codec in extensions { codec.release() }
    }
}
