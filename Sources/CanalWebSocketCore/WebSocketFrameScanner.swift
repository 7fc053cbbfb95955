import NIOCore

/// The received bytes not yet acted on, cut into frames: complete frames are found and
/// unmasked in place as bytes arrive, then handed out one at a time; a frame still
/// arriving stays at the end of the buffer until its last byte comes.
///
/// Only the header rules (`WebSocketFrameRules.headerError`) are checked here, while
/// scanning, so that a frame nobody may send is refused before its payload is buffered.
/// The connection acts on what `next()` returns, in order.
struct WebSocketFrameScanner {
    /// What the scanner found, in the order the connection must act on it.
    enum Item {
        /// A complete frame. The first `alreadyValidated` payload bytes already went
        /// through the UTF-8 validator while the frame was arriving.
        case frame(WebSocketFrameHeader, payload: ByteBuffer, alreadyValidated: Int)
        /// A frame whose header breaks a rule (or whose length is too large): nothing after
        /// it can be read.
        case failure(WebSocketProtocolError)
        /// A frame whose payload has not all arrived yet.
        case partial(WebSocketFrameHeader)
    }

    private var accumulator: ByteBuffer?
    /// Payload bytes of the frame at the front of `accumulator` that are already unmasked.
    private var partialUnmasked = 0
    /// Payload bytes of that frame that already went through the UTF-8 validator.
    private var partialValidated = 0
    private var scanned: [(header: WebSocketFrameHeader, headerLength: Int)] = []
    private var scannedCursor = 0
    private var scanError: WebSocketProtocolError?
    private var partialFrame: (header: WebSocketFrameHeader, headerLength: Int)?
    /// The frame still arriving once handed out by `next()`, until new bytes come.
    private var reportedPartial: (header: WebSocketFrameHeader, headerLength: Int)?
    private var pendingPartialUnmasked = 0

    /// True while scanned frames (or a scan error) wait for `next()`.
    var hasWork: Bool {
        scannedCursor < scanned.count || scanError != nil || partialFrame != nil
    }

    /// Adds bytes from the transport and scans them. Every item of the previous scan must
    /// have been taken with `next()` (or dropped).
    mutating func append(_ data: ByteBuffer, role: WebSocketRole, frameLimit: Int) {
        reportedPartial = nil
        if var buffer = accumulator, buffer.readableBytes > 0 {
            accumulator = nil  // keep the storage uniquely referenced while appending
            buffer.writeImmutableBuffer(data)
            accumulator = buffer
        } else {
            accumulator = data
            partialUnmasked = 0
            partialValidated = 0
        }
        scan(role: role, frameLimit: frameLimit)
    }

    /// Finds the complete frames at the front of `accumulator` and unmasks them in place,
    /// before any slice of the buffer is handed out (a slice would force a copy on every
    /// later write). The frames are then acted on one at a time through `next()`, so that
    /// the application sees and answers each message before a later frame can fail the
    /// connection: nothing already received intact is lost.
    private mutating func scan(role: WebSocketRole, frameLimit: Int) {
        guard var buffer = accumulator else { return }
        accumulator = nil
        scanned.removeAll(keepingCapacity: true)
        scannedCursor = 0
        scanError = nil
        partialFrame = nil
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
                if let failure = WebSocketFrameRules.headerError(header, role: role, frameLimit: frameLimit) {
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

    /// The next complete frame; after the last one, the scan error or the frame still
    /// arriving; nil when nothing waits.
    mutating func next() -> Item? {
        if scannedCursor < scanned.count {
            let entry = scanned[scannedCursor]
            let validated = scannedCursor == 0 ? partialValidated : 0
            scannedCursor += 1
            if scannedCursor == 1 { partialValidated = 0 }
            accumulator!.moveReaderIndex(forwardBy: entry.headerLength)
            let payload = accumulator!.readSlice(length: entry.header.payloadLength)!
            return .frame(entry.header, payload: payload, alreadyValidated: validated)
        }
        if let error = scanError {
            scanError = nil
            return .failure(error)
        }
        guard let partial = partialFrame else { return nil }
        partialFrame = nil
        if !scanned.isEmpty { partialValidated = 0 }
        scanned.removeAll(keepingCapacity: true)
        scannedCursor = 0
        reportedPartial = partial
        return .partial(partial.header)
    }

    /// Makes room for the rest of the frame `next()` reported as `.partial`, so that it
    /// arrives without the buffer growing more than once.
    mutating func reserveRestOfPartialFrame() {
        guard let partial = reportedPartial else { return }
        let missing = partial.headerLength + partial.header.payloadLength - accumulator!.readableBytes
        accumulator!.reserveCapacity(minimumWritableBytes: missing)
    }

    /// The payload bytes of the frame reported as `.partial` that have arrived but not yet
    /// been validated (`fromStart` when none were), or nil when there are none.
    func unvalidatedPartialPayload() -> (bytes: ByteBufferView.SubSequence, fromStart: Bool)? {
        guard let partial = reportedPartial, pendingPartialUnmasked > partialValidated else { return nil }
        let view = accumulator!.readableBytesView
        let start = view.startIndex + partial.headerLength
        return (view[(start + partialValidated)..<(start + pendingPartialUnmasked)], partialValidated == 0)
    }

    /// The bytes `unvalidatedPartialPayload()` returned were valid.
    mutating func markPartialPayloadValidated() {
        partialValidated = pendingPartialUnmasked
    }

    /// Lets go of the buffer once everything in it was consumed; with `resetFront`, also
    /// forgets what was known of the front frame, before new bytes are appended.
    mutating func releaseIfConsumed(resetFront: Bool) {
        guard !hasWork, let buffer = accumulator, buffer.readableBytes == 0 else { return }
        accumulator = nil
        if resetFront {
            partialUnmasked = 0
            partialValidated = 0
        }
    }

    /// Forgets everything received: the connection failed or ended.
    mutating func dropAll() {
        accumulator = nil
        scanned.removeAll()
        scannedCursor = 0
        scanError = nil
        partialFrame = nil
        reportedPartial = nil
    }
}
