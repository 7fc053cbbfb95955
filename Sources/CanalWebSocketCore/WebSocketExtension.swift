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

    /// Encodes an outgoing message as its sender asked, or returns nil to send it as it is.
    /// The default honours `.never` and otherwise calls `encode(_:)`.
    func encode(_ message: ByteBuffer, compression: WebSocketMessage.Compression) -> ByteBuffer?

    /// What `encode(_:compression:)` would do with such a message, as a key that is equal
    /// for two connections exactly when they would produce the same bytes: `""` when the
    /// message would go as it is, `nil` when the result depends on this connection's own
    /// history (a compression context kept between messages) and cannot be shared.
    /// The default is `""` for `.never` and `nil` otherwise.
    func sharedEncodingKey(forLength length: Int, compression: WebSocketMessage.Compression) -> String?

    /// The largest frame payload that may carry `decodedSize` bytes of message once
    /// encoded, so that a frame whose content is within the frame limit is not refused
    /// for the encoding's own overhead (incompressible data grows under deflate). The
    /// default is `decodedSize`.
    func maxEncodedSize(decodedSize: Int) -> Int

    /// The connection ended: free anything held.
    func release()
}

extension WebSocketExtension {
    public func encode(_ message: ByteBuffer, compression: WebSocketMessage.Compression) -> ByteBuffer? {
        compression == .never ? nil : encode(message)
    }

    public func sharedEncodingKey(forLength length: Int, compression: WebSocketMessage.Compression) -> String? {
        compression == .never ? "" : nil
    }

    public func maxEncodedSize(decodedSize: Int) -> Int { decodedSize }
}

/// The negotiated extensions as one unit. At most one may use RSV1.
struct WebSocketExtensionPipeline {
    private let extensions: [any WebSocketExtension]
    let reservedBits: UInt8

    init(_ extensions: [any WebSocketExtension]) {
        self.extensions = extensions
        self.reservedBits = extensions.reduce(0) { $0 | $1.reservedBits }
    }

    private var codec: (any WebSocketExtension)? {
        extensions.first(where: { $0.reservedBits & WebSocketFrameHeader.rsv1 != 0 })
    }

    func decode(_ payload: ByteBuffer, isFinal: Bool, limit: Int) -> Result<ByteBuffer, WebSocketProtocolError> {
        guard let codec else {
            return .failure(WebSocketProtocolError(.reservedBitsSet))
        }
        return codec.decode(payload, isFinal: isFinal, limit: limit)
    }

    func encode(_ message: ByteBuffer, compression: WebSocketMessage.Compression) -> ByteBuffer? {
        guard let codec else { return nil }
        return codec.encode(message, compression: compression)
    }

    /// See `WebSocketExtension.sharedEncodingKey`; `""` without an extension.
    func sharedEncodingKey(forLength length: Int, compression: WebSocketMessage.Compression) -> String? {
        guard let codec else { return "" }
        guard let key = codec.sharedEncodingKey(forLength: length, compression: compression) else { return nil }
        return key.isEmpty ? "" : codec.name + ";" + key
    }

    /// The frame limit for frames marked with RSV1: `decodedLimit` plus the codec's overhead.
    func maxEncodedSize(decodedLimit: Int) -> Int {
        guard let codec else { return decodedLimit }
        return max(decodedLimit, codec.maxEncodedSize(decodedSize: decodedLimit))
    }

    func release() {
        for codec in extensions { codec.release() }
    }
}
