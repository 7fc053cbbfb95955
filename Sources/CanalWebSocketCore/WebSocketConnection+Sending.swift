import NIOCore

/// What the application sends: messages (encoded by the extensions, cut into fragments at
/// `outboundFragmentSize`, or shared between server connections), streamed fragments,
/// pings and pongs. The frames wait in `WebSocketOutboundBuffer` until `nextOutput()`.
extension WebSocketConnection {
    /// Queues a whole message, in fragments if `outboundFragmentSize` is set.
    ///
    /// A negotiated compression extension compresses it as `message.compression` asks. A
    /// message from `WebSocketPreEncodedMessage` reuses frames already built for another
    /// server connection with the same settings.
    public mutating func send(_ message: WebSocketMessage) throws(WebSocketUsageError) {
        guard case .open(let streamedKind) = phase else { throw .notOpen }
        // RFC 6455 §5.4: a message must not start among the fragments of another.
        guard streamedKind == nil else { throw .fragmentSequence }
        // Client frames need a fresh mask each, so only servers share frames.
        if role == .server, let cache = message.encodings,
            let key = extensions.sharedEncodingKey(
                forLength: message.data.readableBytes,
                compression: message.compression
            )
        {
            let fragmentSize = configuration.outboundFragmentSize ?? 0
            let frames = cache.frames(for: "\(key)|\(fragmentSize)") {
                var bytes = output.allocator.buffer(capacity: message.data.readableBytes + 14)
                Self.forEachFrame(of: message, extensions: extensions, fragmentSize: configuration.outboundFragmentSize) {
                    fin, reservedBits, opcode, payload in
                    WebSocketFrameHeader.writeFrame(
                        to: &bytes,
                        fin: fin,
                        reservedBits: reservedBits,
                        opcode: opcode,
                        maskingKey: nil,
                        payload: payload
                    )
                }
                return bytes
            }
            output.queueEncodedFrames(frames, fragmentSize: outboundFragmentSize)
            return
        }
        var data = message.data
        var reservedBits: UInt8 = 0
        if let encoded = extensions.encode(data, compression: message.compression) {
            data = encoded
            reservedBits = WebSocketFrameHeader.rsv1
        }
        output.queueMessage(
            data,
            opcode: message.opcode,
            reservedBits: reservedBits,
            fragmentSize: outboundFragmentSize
        )
    }

    /// `outboundFragmentSize` when it asks for fragments (0 and below do not).
    private var outboundFragmentSize: Int? {
        configuration.outboundFragmentSize.flatMap { $0 > 0 ? $0 : nil }
    }

    /// The frames of `message`: encoded by the extensions, then cut at `outboundFragmentSize`.
    /// RFC 7692 §6: RSV1 marks the first frame of a compressed message only.
    private static func forEachFrame(
        of message: WebSocketMessage,
        extensions: WebSocketExtensionPipeline,
        fragmentSize: Int?,
        _ body: (_ fin: Bool, _ reservedBits: UInt8, _ opcode: WebSocketOpcode, _ payload: ByteBuffer) -> Void
    ) {
        var data = message.data
        var reservedBits: UInt8 = 0
        if let encoded = extensions.encode(data, compression: message.compression) {
            data = encoded
            reservedBits = WebSocketFrameHeader.rsv1
        }
        var opcode = message.opcode
        if let size = fragmentSize, size > 0 {
            while data.readableBytes > size {
                body(false, reservedBits, opcode, data.readSlice(length: size)!)
                opcode = .continuation
                reservedBits = 0
            }
        }
        body(true, reservedBits, opcode, data)
    }

    /// Queues one fragment of a message the application streams itself. The first call
    /// names the kind; later calls continue it until `isFinal`. Fragments are never compressed.
    public mutating func sendFragment(
        _ data: ByteBuffer,
        kind: WebSocketMessage.Kind,
        isFinal: Bool
    ) throws(WebSocketUsageError) {
        guard case .open(let streamedKind) = phase else { throw .notOpen }
        // RFC 6455 §5.4: the fragments after the first are continuation frames.
        let opcode: WebSocketOpcode = streamedKind != nil ? .continuation : (kind == .text ? .text : .binary)
        output.queueFrame(fin: isFinal, opcode: opcode, payload: data)
        phase = .open(streamedKind: isFinal ? nil : (streamedKind ?? kind))
    }

    /// Queues a ping. The payload is limited to 125 bytes.
    public mutating func sendPing(_ payload: ByteBuffer = ByteBuffer()) throws(WebSocketUsageError) {
        try sendControlFrame(.ping, payload: payload)
    }

    /// Queues an unsolicited pong (a unidirectional heartbeat, RFC 6455 §5.5.3).
    public mutating func sendPong(_ payload: ByteBuffer = ByteBuffer()) throws(WebSocketUsageError) {
        try sendControlFrame(.pong, payload: payload)
    }

    private mutating func sendControlFrame(_ opcode: WebSocketOpcode, payload: ByteBuffer) throws(WebSocketUsageError) {
        guard isOpen else { throw .notOpen }
        // RFC 6455 §5.5: a control frame carries at most 125 bytes.
        guard payload.readableBytes <= 125 else { throw .controlPayloadTooLong }
        // RFC 6455 §5.4: control frames may go between the fragments of a message.
        output.writeFrame(opcode: opcode, payload: payload)
    }

    /// Queues bytes that already form complete frames, for a message encoded once and
    /// sent to many connections. Only servers may do this (client frames need a fresh mask).
    public mutating func sendPreEncoded(_ frames: ByteBuffer) throws(WebSocketUsageError) {
        guard isOpen else { throw .notOpen }
        guard role == .server else { throw WebSocketUsageError("only servers may send pre-encoded frames") }
        output.queueEncodedFrames(frames, fragmentSize: outboundFragmentSize)
    }
}
