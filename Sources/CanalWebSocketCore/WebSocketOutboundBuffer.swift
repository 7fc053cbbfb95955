import NIOCore

/// What a connection has to send, in order: frames encoded (and masked, on a client) as
/// they are queued, gathered into few buffers; transport actions behind them; and the data
/// that waits behind a message sent in fragments (`WebSocketDeferredOutput`).
///
/// Small frames queued one after another share one buffer, so that the replies to a read
/// burst leave in one write; payloads of 16 KiB and more travel as their own buffer instead
/// of being copied.
struct WebSocketOutboundBuffer {
    /// Payloads at least this large travel as their own buffer instead of being copied.
    private static let separateBufferThreshold = 16 * 1024

    private let role: WebSocketRole
    private let maskingKeys: @Sendable () -> WebSocketMaskingKey
    let allocator = ByteBufferAllocator()

    // Queues that allocate only when used and let go of their storage once drained,
    // so that an idle connection holds no buffers.
    private var outputs = DrainingQueue<WebSocketOutput>()
    private var pendingBytes: ByteBuffer?
    /// Data frames waiting behind a message sent in fragments; see `next(includingDeferredData:)`.
    private var deferred = WebSocketDeferredOutput()

    init(role: WebSocketRole, maskingKeys: @escaping @Sendable () -> WebSocketMaskingKey) {
        self.role = role
        self.maskingKeys = maskingKeys
    }

    /// True when `next(includingDeferredData: false)` would return something.
    var hasOutput: Bool { !outputs.isEmpty || pendingBytes != nil }

    /// True while data waits behind a fragmented message.
    var hasDeferredData: Bool { !deferred.isEmpty }

    /// See `WebSocketConnection.deferredSends`.
    var deferredCounts: (queued: UInt64, emitted: UInt64, discarded: UInt64) {
        (deferred.queuedCount, deferred.emittedCount, deferred.discardedCount)
    }

    /// The next thing to do with the transport; see `WebSocketConnection.nextOutput(includingDeferredData:)`.
    mutating func next(includingDeferredData: Bool) -> WebSocketOutput? {
        if let first = outputs.popFirst() {
            return first
        }
        if let bytes = pendingBytes {
            pendingBytes = nil
            return .bytes(bytes)
        }
        guard includingDeferredData, !deferred.isEmpty else { return nil }
        let role = self.role
        let maskingKeys = self.maskingKeys
        let allocator = self.allocator
        return deferred.next { fin, reservedBits, opcode, payload in
            var bytes = allocator.buffer(capacity: payload.readableBytes + 14)
            WebSocketFrameHeader.writeFrame(
                to: &bytes,
                fin: fin,
                reservedBits: reservedBits,
                opcode: opcode,
                maskingKey: role == .client ? maskingKeys() : nil,
                payload: payload
            )
            return bytes
        }
    }

    /// Queues a whole message's payload (already encoded by the extensions), cut into
    /// fragments of `fragmentSize` if it is larger: then it and what follows it wait among
    /// the deferred data.
    mutating func queueMessage(_ data: ByteBuffer, opcode: WebSocketOpcode, reservedBits: UInt8, fragmentSize: Int?) {
        if let fragmentSize, data.readableBytes > fragmentSize || !deferred.isEmpty {
            deferred.append(
                .message(data: data, opcode: opcode, reservedBits: reservedBits, fragmentSize: fragmentSize)
            )
        } else if !deferred.isEmpty {
            deferred.append(.message(data: data, opcode: opcode, reservedBits: reservedBits, fragmentSize: .max))
        } else {
            writeFrame(reservedBits: reservedBits, opcode: opcode, payload: data)
        }
    }

    /// Queues one frame behind everything queued so far, deferred data included. Returns
    /// the count of deferred items at which it will have left when it has to wait among
    /// them, nil when it was queued at once.
    @discardableResult
    mutating func queueFrame(fin: Bool = true, opcode: WebSocketOpcode, payload: ByteBuffer) -> UInt64? {
        if deferred.isEmpty {
            writeFrame(fin: fin, opcode: opcode, payload: payload)
            return nil
        }
        deferred.append(.frame(fin: fin, opcode: opcode, payload: payload))
        return deferred.queuedCount
    }

    /// Queues frames encoded once for several connections: behind deferred data, or as
    /// deferred data themselves when they are the fragments of one message.
    mutating func queueEncodedFrames(_ frames: ByteBuffer, fragmentSize: Int?) {
        let isFragmented = fragmentSize.map { frames.readableBytes > $0 + 14 } ?? false
        if isFragmented || !deferred.isEmpty {
            deferred.append(.frames(frames))
        } else if var bytes = pendingBytes, frames.readableBytes < Self.separateBufferThreshold {
            pendingBytes = nil
            bytes.writeImmutableBuffer(frames)
            pendingBytes = bytes
        } else {
            flushPendingBytes()
            outputs.append(.bytes(frames))
        }
    }

    /// Queues a frame ahead of any deferred data: a control frame, or data while nothing
    /// is deferred.
    mutating func writeFrame(
        fin: Bool = true,
        reservedBits: UInt8 = 0,
        opcode: WebSocketOpcode,
        payload: ByteBuffer
    ) {
        let key: WebSocketMaskingKey? = role == .client ? maskingKeys() : nil
        let length = payload.readableBytes
        // A large server payload is written from its own buffer, behind the header.
        let separate = key == nil && length >= Self.separateBufferThreshold
        var bytes = pendingBytes ?? allocator.buffer(capacity: separate ? 14 : max(256, length + 14))
        pendingBytes = nil
        if separate {
            WebSocketFrameHeader(fin: fin, reservedBits: reservedBits, opcode: opcode, payloadLength: length)
                .write(to: &bytes)
            outputs.append(.bytes(bytes))
            outputs.append(.bytes(payload))
            return
        }
        WebSocketFrameHeader.writeFrame(
            to: &bytes,
            fin: fin,
            reservedBits: reservedBits,
            opcode: opcode,
            maskingKey: key,
            payload: payload
        )
        pendingBytes = bytes
    }

    /// Ends the buffer being filled, so that what follows goes out as its own output.
    mutating func flushPendingBytes() {
        if let bytes = pendingBytes {
            pendingBytes = nil
            outputs.append(.bytes(bytes))
        }
    }

    /// Queues a transport action behind everything sent so far, deferred data included.
    mutating func queueTransportAction(_ output: WebSocketOutput) {
        if !deferred.isEmpty {
            deferred.append(.transport(output))
            return
        }
        flushPendingBytes()
        outputs.append(output)
    }

    /// Drops the deferred data: the connection failed or ended.
    mutating func discardDeferred() {
        deferred.discardAll()
    }
}
