import NIOCore

/// One WebSocket endpoint after the opening handshake, without any I/O (RFC 6455 §5-§7).
///
/// Feed it the bytes that arrive with `receive(_:)` and `receiveEOF()`; collect what
/// happened with `nextEvent()` and what to send with `nextOutput()`. Sending methods
/// queue frames. The driver owns the socket, the clock and the close timer: whenever
/// `isClosing` is true it should arm one and call `closeTimeoutElapsed()` when it fires.
///
/// All of RFC 6455's rules for received frames are checked here. Any violation fails
/// the connection: a close frame with the matching code (1002, 1007, 1009) is queued and
/// the remaining input is discarded. A server then half-closes the transport
/// (`.shutdownOutput`); a client waits for the server to close it (RFC 6455 §7.1.1), which
/// the driver's close timer bounds.
/// When a closing handshake completes on a server, the output asks the driver to close the
/// transport outright (`.closeTransport`, RFC 6455 §7.1.1); a client waits for the server
/// to close it. Either way the driver reports the end with `receiveEOF()`.
public struct WebSocketConnection {
    /// Where the closing handshake stands.
    public enum State: Sendable, Hashable {
        /// Messages flow both ways.
        case open
        /// This endpoint sent a close frame and waits for the peer's. Messages still arrive.
        case closeSent
        /// Both close frames were exchanged; waiting for the transport to end.
        case closeHandshakeDone
        /// This endpoint failed the connection; input is discarded until the transport ends.
        case failed
        /// The transport ended; `.closed` was the last event.
        case closed
    }

    public let role: WebSocketRole
    public let configuration: WebSocketConfiguration
    public private(set) var state: State = .open

    private let maskingKeys: @Sendable () -> WebSocketMaskingKey
    private let extensions: WebSocketExtensionPipeline
    private let allocator = ByteBufferAllocator()

    // Input
    private var accumulator: ByteBuffer?
    /// Payload bytes of the frame at the front of `accumulator` that are already unmasked.
    private var partialUnmasked = 0
    /// Payload bytes of that frame that already went through the UTF-8 validator.
    private var partialValidated = 0
    private var scanned: [(header: WebSocketFrameHeader, headerLength: Int)] = []
    private var scannedCursor = 0
    private var scanError: WebSocketProtocolError?
    private var partialFrame: (header: WebSocketFrameHeader, headerLength: Int)?
    private var pendingPartialUnmasked = 0

    // Message assembly
    private var message: InboundMessage?
    private var utf8 = UTF8Validator()

    // Output
    // Queues that allocate only when used and let go of their storage once drained,
    // so that an idle connection holds no buffers.
    private var events = DrainingQueue<WebSocketEvent>()
    private var outputs = DrainingQueue<WebSocketOutput>()
    private var pendingBytes: ByteBuffer?
    private var sendingFragmentedMessage = false
    /// Data frames waiting behind a message sent in fragments; see `nextOutput(includingDeferredData:)`.
    private var deferred = WebSocketDeferredOutput()
    /// Set while this endpoint's close frame waits among the deferred data: the count of
    /// deferred items at which it has left.
    private var deferredCloseMark: UInt64?

    // Closing
    private var peerClose: (code: WebSocketCloseCode?, reason: String)?
    private var failure: WebSocketProtocolError?

    private struct InboundMessage {
        var kind: WebSocketMessage.Kind
        var data: ByteBuffer
        var fragments: Int
        /// Set when the extension pipeline must decode the message (RSV1 with permessage-deflate).
        var compressed: Bool
    }

    /// Creates an endpoint in the open state.
    ///
    /// - Parameters:
    ///   - role: decides masking: a client masks every frame with a key from `maskingKeys`.
    ///   - maskingKeys: where a client gets the key for each frame. Inject a fixed
    ///     source in tests; the default is the system's secure generator.
    ///   - extensions: the extensions the handshake negotiated, in order.
    public init(
        role: WebSocketRole,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        extensions: [any WebSocketExtension] = [],
        maskingKeys: @escaping @Sendable () -> WebSocketMaskingKey = { .random() }
    ) {
        self.role = role
        self.configuration = configuration
        self.maskingKeys = maskingKeys
        self.extensions = WebSocketExtensionPipeline(extensions)
    }

    /// True while a close timer should run: the closing handshake has started but the
    /// transport has not ended.
    public var isClosing: Bool {
        switch state {
        case .closeSent, .closeHandshakeDone, .failed: return true
        case .open, .closed: return false
        }
    }

    /// True while the application may send messages.
    public var isOpen: Bool { state == .open }

    // MARK: - Input

    /// Processes bytes from the transport.
    public mutating func receive(_ data: ByteBuffer) {
        switch state {
        case .open, .closeSent:
            break
        case .closeHandshakeDone, .failed, .closed:
            // RFC 6455 §5.5.1: nothing more is expected after the close frame.
            return
        }
        processAllScannedFrames()
        if var buffer = accumulator, buffer.readableBytes > 0 {
            accumulator = nil  // keep the storage uniquely referenced while appending
            buffer.writeImmutableBuffer(data)
            accumulator = buffer
        } else {
            accumulator = data
            partialUnmasked = 0
            partialValidated = 0
        }
        scan()
    }

    /// The peer closed its sending side (TCP FIN), or the transport ended.
    public mutating func receiveEOF() {
        finish()
    }

    /// The close timer fired: give up on the peer and end the connection.
    public mutating func closeTimeoutElapsed() {
        finish()
    }

    private mutating func finish() {
        processAllScannedFrames()
        let wasClean: Bool
        switch state {
        case .closed:
            return
        case .closeHandshakeDone:
            wasClean = true
        case .open, .closeSent, .failed:
            wasClean = false
        }
        state = .closed
        accumulator = nil
        message = nil
        deferred.discardAll()
        extensions.release()
        let code: WebSocketCloseCode
        let reason: String
        if let peerClose {
            code = peerClose.code ?? .noStatusReceived
            reason = peerClose.reason
        } else {
            code = .abnormalClosure
            reason = ""
        }
        events.append(.closed(WebSocketCloseStatus(code: code, reason: reason, wasClean: wasClean, error: failure)))
    }

    /// The next thing that happened, or nil when there is nothing new.
    public mutating func nextEvent() -> WebSocketEvent? {
        while events.isEmpty, hasScannedWork {
            processNextFrame()
        }
        if !hasScannedWork, let buffer = accumulator, buffer.readableBytes == 0 {
            accumulator = nil  // an idle connection holds no buffer
        }
        return events.popFirst()
    }

    /// The next thing to do with the transport, or nil when there is nothing to send.
    ///
    /// A message larger than `outboundFragmentSize`, and the data sent after it, leave one
    /// frame per call, behind any control frame queued in the meantime. A driver passes
    /// `includingDeferredData: false` while its transport has no room (a full socket
    /// buffer), so that such data does not pile up in the transport ahead of a later pong:
    /// control frames, and data sent while nothing is deferred, come out either way.
    public mutating func nextOutput(includingDeferredData: Bool = true) -> WebSocketOutput? {
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

    /// True when `nextOutput(includingDeferredData: false)` would return something.
    public var hasOutput: Bool { !outputs.isEmpty || pendingBytes != nil }

    /// True while data waits behind a fragmented message (`nextOutput(includingDeferredData:)`).
    public var hasDeferredOutput: Bool { !deferred.isEmpty }

    /// Counts of the sends that had to wait behind a fragmented message (each message,
    /// fragment, pre-encoded message or close is one): how many were queued, how many have
    /// left through `nextOutput`, and how many were discarded when the connection failed or
    /// ended. A driver that promised to tell a sender when its data was written notes
    /// `queued` right after the send and waits until `emitted` (or `discarded`) reaches it.
    public var deferredSends: (queued: UInt64, emitted: UInt64, discarded: UInt64) {
        (deferred.queuedCount, deferred.emittedCount, deferred.discardedCount)
    }

    /// Finds the complete frames at the front of `accumulator` and unmasks them in place,
    /// before any slice of the buffer is handed out (a slice would force a copy on every
    /// later write). The frames are then acted on one at a time by `nextEvent()`, so that
    /// the application sees and answers each message before a later frame can fail the
    /// connection: nothing already received intact is lost.
    private mutating func scan() {
        guard var buffer = accumulator else { return }
        accumulator = nil
        scanned.removeAll(keepingCapacity: true)
        scannedCursor = 0
        scanError = nil
        partialFrame = nil
        let role = self.role
        // Whether a data frame is compressed depends on the message it belongs to, known
        // only when it is processed: here, refuse only what no frame may be (the encoded
        // limit when an extension uses RSV1); `sizeError` applies the exact limit.
        let frameLimit = extensions.maxEncodedSize(decodedLimit: configuration.maxFrameSize)
        var unmaskedAtFront = partialUnmasked
        var newPartialUnmasked = 0
        var found = scanned  // reuse the array's storage
        scanned = []
        var error: WebSocketProtocolError?
        var partial: (header: WebSocketFrameHeader, headerLength: Int)?
        buffer.withUnsafeMutableReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let header: WebSocketFrameHeader
                let headerLength: Int
                switch WebSocketFrameHeader.decode(UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
                case .needMoreBytes:
                    return
                case .lengthTooLarge:
                    error = WebSocketProtocolError(.lengthTooLarge)
                    return
                case .header(let decoded, let length):
                    header = decoded
                    headerLength = length
                }
                if let failure = Self.check(header, role: role, frameLimit: frameLimit) {
                    error = failure
                    return
                }
                let payloadStart = offset + headerLength
                let available = min(bytes.count - payloadStart, header.payloadLength)
                let done = unmaskedAtFront
                unmaskedAtFront = 0
                if let key = header.maskingKey, available > done {
                    let region = UnsafeMutableRawBufferPointer(
                        rebasing: bytes[(payloadStart + done)..<(payloadStart + available)]
                    )
                    key.apply(to: region, phase: done & 3)
                }
                guard available == header.payloadLength else {
                    partial = (header, headerLength)
                    newPartialUnmasked = available
                    return
                }
                found.append((header, headerLength))
                offset = payloadStart + header.payloadLength
            }
        }
        accumulator = buffer
        scanned = found
        scanError = error
        partialFrame = partial
        // The partial frame becomes the front frame once the complete ones are consumed,
        // which happens before the next scan.
        partialUnmasked = newPartialUnmasked
        pendingPartialUnmasked = newPartialUnmasked
    }

    /// True while scanned frames (or a scan error) wait for `nextEvent()`.
    private var hasScannedWork: Bool {
        scannedCursor < scanned.count || scanError != nil || partialFrame != nil
    }

    /// Acts on the next scanned frame; after the last one, on the scan error or the frame
    /// still arriving.
    private mutating func processNextFrame() {
        switch state {
        case .open, .closeSent:
            break
        case .closeHandshakeDone, .failed, .closed:
            dropInput()
            return
        }
        if scannedCursor < scanned.count {
            let entry = scanned[scannedCursor]
            let validated = scannedCursor == 0 ? partialValidated : 0
            scannedCursor += 1
            if scannedCursor == 1 { partialValidated = 0 }
            accumulator!.moveReaderIndex(forwardBy: entry.headerLength)
            let payload = accumulator!.readSlice(length: entry.header.payloadLength)!
            handleFrame(entry.header, payload: payload, alreadyValidated: validated)
            return
        }
        if let error = scanError {
            scanError = nil
            fail(error)
            return
        }
        guard let partial = partialFrame else { return }
        partialFrame = nil
        if !scanned.isEmpty { partialValidated = 0 }
        scanned.removeAll(keepingCapacity: true)
        scannedCursor = 0

        // A frame is still arriving. Fail fast on what is already known to be wrong:
        // the sequence, the message size, and text that is already invalid.
        if let error = sequencingError(partial.header) ?? sizeError(partial.header) {
            fail(error)
            return
        }
        let missing = partial.headerLength + partial.header.payloadLength - accumulator!.readableBytes
        accumulator!.reserveCapacity(minimumWritableBytes: missing)
        if isTextInProgress(partial.header), pendingPartialUnmasked > partialValidated {
            if partial.header.opcode == .text, partialValidated == 0 { utf8.reset() }
            let view = accumulator!.readableBytesView
            let start = view.startIndex + partial.headerLength
            let ok = view[(start + partialValidated)..<(start + pendingPartialUnmasked)].withUnsafeBytes {
                utf8.validate($0)
            }
            guard ok else {
                fail(WebSocketProtocolError(.invalidUTF8))
                return
            }
            partialValidated = pendingPartialUnmasked
        }
    }

    /// Finishes any scanned frames, so that new bytes can be appended.
    private mutating func processAllScannedFrames() {
        while hasScannedWork { processNextFrame() }
        if let buffer = accumulator, buffer.readableBytes == 0 {
            accumulator = nil
            partialUnmasked = 0
            partialValidated = 0
        }
    }

    private mutating func dropInput() {
        accumulator = nil
        scanned.removeAll()
        scannedCursor = 0
        scanError = nil
        partialFrame = nil
    }

    /// Rules that depend on the header alone.
    private static func check(
        _ header: WebSocketFrameHeader,
        role: WebSocketRole,
        frameLimit: Int
    ) -> WebSocketProtocolError? {
        // RFC 6455 §5.1: clients mask every frame, servers never do.
        switch role {
        case .server where header.maskingKey == nil: return WebSocketProtocolError(.unmaskedClientFrame)
        case .client where header.maskingKey != nil: return WebSocketProtocolError(.maskedServerFrame)
        default: break
        }
        if header.opcode.isReserved {
            return WebSocketProtocolError(.reservedOpcode(header.opcode.rawValue))
        }
        if header.opcode.isControl {
            // RFC 6455 §5.5: control frames are never fragmented and carry at most 125 bytes.
            if !header.fin { return WebSocketProtocolError(.fragmentedControlFrame) }
            if header.payloadLength > 125 { return WebSocketProtocolError(.controlFrameTooLong(header.payloadLength)) }
        } else if header.payloadLength > frameLimit {
            return WebSocketProtocolError(.frameTooBig(header.payloadLength))
        }
        return nil
    }

    private func sequencingError(_ header: WebSocketFrameHeader) -> WebSocketProtocolError? {
        switch header.opcode {
        case .continuation:
            // RFC 6455 §5.4: a continuation needs a message in progress.
            return message == nil ? WebSocketProtocolError(.unexpectedContinuation) : nil
        case .text, .binary:
            // RFC 6455 §5.4: fragments of different messages must not interleave.
            return message == nil ? nil : WebSocketProtocolError(.expectedContinuation)
        default:
            return nil
        }
    }

    /// Frame and message limits known from the header, checked before the payload is
    /// buffered. A compressed frame is held to the frame limit plus the extension's
    /// overhead; its message is held to the message limit after inflation (in `decode`).
    private func sizeError(_ header: WebSocketFrameHeader) -> WebSocketProtocolError? {
        guard !header.opcode.isControl else { return nil }
        if isCompressed(header) {
            if header.payloadLength > extensions.maxEncodedSize(decodedLimit: configuration.maxFrameSize) {
                return WebSocketProtocolError(.frameTooBig(header.payloadLength))
            }
            return nil
        }
        if header.payloadLength > configuration.maxFrameSize {
            return WebSocketProtocolError(.frameTooBig(header.payloadLength))
        }
        let soFar = message?.data.readableBytes ?? 0
        if soFar + header.payloadLength > configuration.maxMessageSize {
            return WebSocketProtocolError(.messageTooBig)
        }
        return nil
    }

    /// Whether the frame's payload goes through the extension: RSV1 on the first frame of
    /// a message (RFC 7692 §6), or a continuation of such a message.
    private func isCompressed(_ header: WebSocketFrameHeader) -> Bool {
        switch header.opcode {
        case .continuation:
            return message?.compressed ?? false
        default:
            return header.reservedBits & WebSocketFrameHeader.rsv1 != 0
                && extensions.reservedBits & WebSocketFrameHeader.rsv1 != 0
        }
    }

    private func isTextInProgress(_ header: WebSocketFrameHeader) -> Bool {
        switch header.opcode {
        case .text: return header.reservedBits == 0
        case .continuation: return message?.kind == .text && !(message?.compressed ?? true)
        default: return false
        }
    }

    private mutating func handleFrame(_ header: WebSocketFrameHeader, payload: ByteBuffer, alreadyValidated: Int) {
        if header.opcode.isControl {
            // RFC 6455 §5.2: reserved bits must be 0 unless an extension defines them;
            // no extension we know defines them for control frames.
            guard header.reservedBits == 0 else { return fail(WebSocketProtocolError(.reservedBitsSet)) }
            switch header.opcode {
            case .ping:
                if configuration.autoReplyToPings, state == .open || state == .closeSent {
                    // RFC 6455 §5.5.2: answer unless the peer's close frame already came.
                    writeFrame(opcode: .pong, payload: payload)
                }
                events.append(.ping(payload))
            case .pong:
                events.append(.pong(payload))
            default:
                handleClose(payload)
            }
            return
        }

        if let error = sequencingError(header) ?? sizeError(header) {
            return fail(error)
        }
        var inbound: InboundMessage
        if header.opcode == .continuation {
            guard header.reservedBits == 0 else { return fail(WebSocketProtocolError(.reservedBitsSet)) }
            inbound = message!
            message = nil
            inbound.fragments += 1
            guard inbound.fragments <= configuration.maxFragmentCount else {
                return fail(WebSocketProtocolError(.tooManyFragments))
            }
        } else {
            let compressed = header.reservedBits & WebSocketFrameHeader.rsv1 != 0
            guard header.reservedBits & ~extensions.reservedBits == 0,
                !compressed || extensions.reservedBits & WebSocketFrameHeader.rsv1 != 0
            else {
                return fail(WebSocketProtocolError(.reservedBitsSet))
            }
            inbound = InboundMessage(
                kind: header.opcode == .text ? .text : .binary,
                data: ByteBuffer(),
                fragments: 1,
                compressed: compressed
            )
            if inbound.kind == .text, alreadyValidated == 0 { utf8.reset() }
        }

        if inbound.compressed {
            let limit = configuration.maxMessageSize - inbound.data.readableBytes
            switch extensions.decode(payload, isFinal: header.fin, limit: limit) {
            case .success(let decoded):
                if inbound.kind == .text {
                    let ok = decoded.readableBytesView.withUnsafeBytes { utf8.validate($0) }
                    guard ok else { return fail(WebSocketProtocolError(.invalidUTF8)) }
                }
                append(decoded, to: &inbound)
            case .failure(let error):
                return fail(error)
            }
        } else {
            if inbound.kind == .text {
                let view = payload.readableBytesView
                let ok = view[(view.startIndex + alreadyValidated)...].withUnsafeBytes { utf8.validate($0) }
                guard ok else { return fail(WebSocketProtocolError(.invalidUTF8)) }
            }
            append(payload, to: &inbound)
        }

        guard header.fin else {
            message = inbound
            return
        }
        if inbound.kind == .text, !utf8.isComplete {
            return fail(WebSocketProtocolError(.invalidUTF8))
        }
        events.append(.message(WebSocketMessage(kind: inbound.kind, data: inbound.data)))
    }

    private func append(_ payload: ByteBuffer, to inbound: inout InboundMessage) {
        if inbound.data.readableBytes == 0 {
            inbound.data = payload  // a single frame is passed on without a copy
        } else {
            inbound.data.writeImmutableBuffer(payload)
        }
    }

    private mutating func handleClose(_ payload: ByteBuffer) {
        var payload = payload
        var code: WebSocketCloseCode?
        var reason = ""
        switch payload.readableBytes {
        case 0:
            break
        case 1:
            // RFC 6455 §5.5.1: a close body starts with a two-byte code.
            return fail(WebSocketProtocolError(.closePayloadOfOneByte))
        default:
            let received = WebSocketCloseCode(payload.readInteger(as: UInt16.self)!)
            guard received.isAcceptableFromPeer else {
                return fail(WebSocketProtocolError(.invalidCloseCode(received.rawValue)))
            }
            var validator = UTF8Validator()
            let ok = payload.readableBytesView.withUnsafeBytes { validator.validate($0) }
            // RFC 6455 §7.1.6: the reason is UTF-8.
            guard ok, validator.isComplete else { return fail(WebSocketProtocolError(.invalidCloseReasonUTF8)) }
            code = received
            reason = String(buffer: payload)
        }
        peerClose = (code, reason)
        switch state {
        case .open:
            // RFC 6455 §5.5.1: answer with a close frame, echoing the status code (after
            // the message being sent, which the RFC allows).
            var body = allocator.buffer(capacity: 2)
            if let code { body.writeInteger(code.rawValue) }
            queueCloseFrame(body)
        case .closeSent:
            break
        case .closeHandshakeDone, .failed, .closed:
            return
        }
        state = .closeHandshakeDone
        message = nil
        events.append(.closeReceived(code: code, reason: reason))
        // RFC 6455 §7.1.1: the server closes the TCP connection first. Both close frames
        // are exchanged, so a full close loses nothing and saves the wait for the FIN.
        if role == .server {
            enqueue(.closeTransport)
        }
    }

    /// Fails the connection (RFC 6455 §7.1.7): sends a close frame with the error's code
    /// unless one was sent already and ignores further input. A server half-closes the
    /// transport; a client leaves that to the server.
    public mutating func fail(_ error: WebSocketProtocolError) {
        switch state {
        case .open:
            // The close frame goes ahead of any data still waiting, which is dropped.
            deferred.discardAll()
            writeCloseFrame(code: error.closeCode, reason: error.reason)
        case .closeSent:
            if let mark = deferredCloseMark, deferred.emittedCount < mark {
                // Our close frame had not left yet: send one with the error's code now.
                deferred.discardAll()
                writeCloseFrame(code: error.closeCode, reason: error.reason)
            }
            deferred.discardAll()
        case .closeHandshakeDone, .failed, .closed:
            return
        }
        deferredCloseMark = nil
        failure = error
        state = .failed
        message = nil
        dropInput()
        // RFC 6455 §7.1.1: the server closes the TCP connection first; a client should wait
        // for it (within the close timeout) so that the server does not hold TIME_WAIT.
        if role == .server {
            enqueue(.shutdownOutput)
        } else {
            flushPendingBytes()
        }
    }

    // MARK: - Output

    /// Queues a whole message, in fragments if `outboundFragmentSize` is set.
    ///
    /// A negotiated compression extension compresses it as `message.compression` asks. A
    /// message from `WebSocketPreEncodedMessage` reuses frames already built for another
    /// server connection with the same settings.
    public mutating func send(_ message: WebSocketMessage) throws(WebSocketUsageError) {
        guard state == .open else { throw .notOpen }
        guard !sendingFragmentedMessage else { throw .fragmentSequence }
        // Client frames need a fresh mask each, so only servers share frames.
        if role == .server, let cache = message.encodings,
            let key = extensions.sharedEncodingKey(
                forLength: message.data.readableBytes,
                compression: message.compression
            )
        {
            let fragmentSize = configuration.outboundFragmentSize ?? 0
            let frames = cache.frames(for: "\(key)|\(fragmentSize)") {
                var bytes = allocator.buffer(capacity: message.data.readableBytes + 14)
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
            appendFrames(frames)
            return
        }
        var data = message.data
        var reservedBits: UInt8 = 0
        if let encoded = extensions.encode(data, compression: message.compression) {
            data = encoded
            reservedBits = WebSocketFrameHeader.rsv1
        }
        let fragmentSize = outboundFragmentSize
        if let fragmentSize, data.readableBytes > fragmentSize || !deferred.isEmpty {
            deferred.append(
                .message(data: data, opcode: message.opcode, reservedBits: reservedBits, fragmentSize: fragmentSize)
            )
        } else if !deferred.isEmpty {
            deferred.append(.message(data: data, opcode: message.opcode, reservedBits: reservedBits, fragmentSize: .max))
        } else {
            writeFrame(reservedBits: reservedBits, opcode: message.opcode, payload: data)
        }
    }

    /// `outboundFragmentSize` when it asks for fragments (0 and below do not).
    private var outboundFragmentSize: Int? {
        configuration.outboundFragmentSize.flatMap { $0 > 0 ? $0 : nil }
    }

    /// Queues frames encoded once for several connections: behind deferred data, or as
    /// deferred data themselves when they are the fragments of one message.
    private mutating func appendFrames(_ frames: ByteBuffer) {
        let isFragmented = outboundFragmentSize.map { frames.readableBytes > $0 + 14 } ?? false
        if isFragmented || !deferred.isEmpty {
            deferred.append(.frames(frames))
        } else {
            appendBytes(frames)
        }
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
        guard state == .open else { throw .notOpen }
        let opcode: WebSocketOpcode = sendingFragmentedMessage ? .continuation : (kind == .text ? .text : .binary)
        if deferred.isEmpty {
            writeFrame(fin: isFinal, opcode: opcode, payload: data)
        } else {
            deferred.append(.frame(fin: isFinal, opcode: opcode, payload: data))
        }
        sendingFragmentedMessage = !isFinal
    }

    /// Queues a ping. The payload is limited to 125 bytes.
    public mutating func sendPing(_ payload: ByteBuffer = ByteBuffer()) throws(WebSocketUsageError) {
        guard state == .open else { throw .notOpen }
        guard payload.readableBytes <= 125 else { throw .controlPayloadTooLong }
        writeFrame(opcode: .ping, payload: payload)
    }

    /// Queues an unsolicited pong (a unidirectional heartbeat, RFC 6455 §5.5.3).
    public mutating func sendPong(_ payload: ByteBuffer = ByteBuffer()) throws(WebSocketUsageError) {
        guard state == .open else { throw .notOpen }
        guard payload.readableBytes <= 125 else { throw .controlPayloadTooLong }
        writeFrame(opcode: .pong, payload: payload)
    }

    /// Starts the closing handshake. Does nothing if it has already started.
    ///
    /// - Parameters:
    ///   - code: the status to send; `nil` sends a close frame without a body.
    ///   - reason: at most 123 bytes of UTF-8.
    public mutating func close(
        code: WebSocketCloseCode? = .normalClosure,
        reason: String = ""
    ) throws(WebSocketUsageError) {
        if let code, !code.isSendable { throw .closeCodeNotSendable }
        if code == nil, !reason.isEmpty { throw .closeCodeNotSendable }
        guard reason.utf8.count <= 123 else { throw .closeReasonTooLong }
        guard state == .open else { return }
        var body = allocator.buffer(capacity: 2 + reason.utf8.count)
        if let code {
            body.writeInteger(code.rawValue)
            body.writeString(reason)
        }
        queueCloseFrame(body)
        state = .closeSent
    }

    /// Queues bytes that already form complete frames, for a message encoded once and
    /// sent to many connections. Only servers may do this (client frames need a fresh mask).
    public mutating func sendPreEncoded(_ frames: ByteBuffer) throws(WebSocketUsageError) {
        guard state == .open else { throw .notOpen }
        guard role == .server else { throw WebSocketUsageError("only servers may send pre-encoded frames") }
        appendFrames(frames)
    }

    private mutating func writeCloseFrame(code: WebSocketCloseCode?, reason: String) {
        var body = allocator.buffer(capacity: 2 + reason.utf8.count)
        if let code {
            body.writeInteger(code.rawValue)
            body.writeString(reason)
        }
        writeFrame(opcode: .close, payload: body)
    }

    /// A close frame that ends the data sent so far: behind deferred data, if any (RFC 6455
    /// §5.5.1: no data frame may follow it).
    private mutating func queueCloseFrame(_ body: ByteBuffer) {
        if deferred.isEmpty {
            writeFrame(opcode: .close, payload: body)
        } else {
            deferred.append(.frame(fin: true, opcode: .close, payload: body))
            deferredCloseMark = deferred.queuedCount
        }
    }

    /// Payloads at least this large travel as their own buffer instead of being copied.
    private static let separateBufferThreshold = 16 * 1024

    private mutating func writeFrame(
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

    private mutating func appendBytes(_ frames: ByteBuffer) {
        if var bytes = pendingBytes, frames.readableBytes < Self.separateBufferThreshold {
            pendingBytes = nil
            bytes.writeImmutableBuffer(frames)
            pendingBytes = bytes
        } else {
            flushPendingBytes()
            outputs.append(.bytes(frames))
        }
    }

    private mutating func flushPendingBytes() {
        if let bytes = pendingBytes {
            pendingBytes = nil
            outputs.append(.bytes(bytes))
        }
    }

    /// Queues a transport action behind everything sent so far, deferred data included.
    private mutating func enqueue(_ output: WebSocketOutput) {
        if !deferred.isEmpty {
            deferred.append(.transport(output))
            return
        }
        flushPendingBytes()
        outputs.append(output)
    }
}

/// A FIFO queue that holds no storage while empty.
struct DrainingQueue<Element> {
    private var elements: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == elements.count }

    mutating func append(_ element: Element) {
        elements.append(element)
    }

    /// Runs `body` on the first element, in place; nil when the queue is empty.
    mutating func withFirst<Result>(_ body: (inout Element) -> Result) -> Result? {
        guard head < elements.count else { return nil }
        return body(&elements[head])
    }

    mutating func popFirst() -> Element? {
        guard head < elements.count else { return nil }
        let element = elements[head]
        head += 1
        if head == elements.count {
            elements = []
            head = 0
        }
        return element
    }
}
