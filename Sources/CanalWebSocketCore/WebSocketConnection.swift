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
///
/// ## Driving a connection
///
/// `receive(_:)` only finds the frames in the bytes and checks what their headers alone
/// tell. Each frame is acted on when `nextEvent()` reaches it, and only then are its
/// replies queued: the pong of a ping, the echo of a close frame, the close frame that
/// fails the connection. So right after `receive(_:)`, `nextOutput()` can return nil and
/// `state` can still be `.open` although a reply is due. A driver calls, in this order (as
/// python-websockets' `receive_data()`, `events_received()` and `data_to_send()`):
///
/// 1. `receive(_:)` with the bytes read, or `receiveEOF()`;
/// 2. `nextEvent()` until it returns nil, handing each event to the application, whose
///    sends queue behind the replies already due;
/// 3. `nextOutput()` until it returns nil, writing what it returns.
///
/// Acting on one frame at a time is what lets the application see and answer each message
/// before a later frame of the same read fails the connection: nothing received intact is
/// lost. Sends, `close(code:reason:)`, `fail(_:)`, `receiveEOF()` and
/// `closeTimeoutElapsed()` take effect at once.
///
/// The work is split by rule: `WebSocketFrameScanner` finds and unmasks frames,
/// `WebSocketFrameRules` holds the frame rules (§5.1-§5.5), `WebSocketMessageAssembler`
/// joins fragments into messages, `WebSocketConnection+Closing.swift` runs the closing
/// handshake (§7) and `WebSocketOutboundBuffer` orders what leaves.
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

    /// The stage the connection is at, with what belongs to that stage alone.
    enum Phase {
        /// Messages flow both ways. `streamedKind` is the kind of the message the
        /// application is sending fragment by fragment (`sendFragment`) until its final
        /// fragment; nil when none is.
        case open(streamedKind: WebSocketMessage.Kind?)
        /// This endpoint's close frame is queued. `closeFrameMark` is set while that frame
        /// waits among deferred data: the count of deferred items at which it has left.
        case closeSent(closeFrameMark: UInt64?)
        /// Both close frames were exchanged: what the peer's said.
        case closeHandshakeDone(peerClose: PeerClose)
        /// This endpoint failed the connection, for this reason.
        case failed(WebSocketProtocolError)
        /// The transport ended.
        case closed
    }

    /// The status code and reason of the peer's close frame.
    struct PeerClose {
        var code: WebSocketCloseCode?
        var reason: String
    }

    public let role: WebSocketRole
    public let configuration: WebSocketConfiguration
    var phase: Phase = .open(streamedKind: nil)

    let extensions: WebSocketExtensionPipeline

    var scanner = WebSocketFrameScanner()
    var assembler: WebSocketMessageAssembler
    // Queues that allocate only when used and let go of their storage once drained,
    // so that an idle connection holds no buffers.
    var events = DrainingQueue<WebSocketEvent>()
    var output: WebSocketOutboundBuffer

    /// Creates an endpoint in the open state.
    ///
    /// - Parameters:
    ///   - role: decides masking: a client masks every frame with a key from `maskingKeys`.
    ///   - configuration: the limits on what the peer sends, and how messages are sent.
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
        self.extensions = WebSocketExtensionPipeline(extensions)
        self.assembler = WebSocketMessageAssembler(configuration: configuration, extensions: self.extensions)
        self.output = WebSocketOutboundBuffer(role: role, maskingKeys: maskingKeys)
    }

    /// Where the closing handshake stands.
    public var state: State {
        switch phase {
        case .open: return .open
        case .closeSent: return .closeSent
        case .closeHandshakeDone: return .closeHandshakeDone
        case .failed: return .failed
        case .closed: return .closed
        }
    }

    /// True while a close timer should run: the closing handshake has started but the
    /// transport has not ended.
    public var isClosing: Bool {
        switch phase {
        case .closeSent, .closeHandshakeDone, .failed: return true
        case .open, .closed: return false
        }
    }

    /// True while the application may send messages.
    public var isOpen: Bool {
        if case .open = phase { return true }
        return false
    }

    /// True while received frames are still acted on: the peer's close frame has not come
    /// and the connection has not failed (RFC 6455 §5.5.1: nothing is expected after the
    /// close frame).
    var acceptsInput: Bool {
        switch phase {
        case .open, .closeSent: return true
        case .closeHandshakeDone, .failed, .closed: return false
        }
    }

    // MARK: - Input

    /// Takes bytes from the transport and finds the frames in them. The frames are acted on
    /// by `nextEvent()`: call it until it returns nil before collecting the output.
    public mutating func receive(_ data: ByteBuffer) {
        guard acceptsInput else { return }
        processAllScannedFrames()
        // Whether a data frame is compressed depends on the message it belongs to, known
        // only when it is processed: here, refuse only what no frame may be (the encoded
        // limit when an extension uses RSV1); the assembler applies the exact limit.
        let frameLimit = extensions.maxEncodedSize(decodedLimit: configuration.maxFrameSize)
        scanner.append(data, role: role, frameLimit: frameLimit)
    }

    /// The peer closed its sending side (TCP FIN), or the transport ended.
    public mutating func receiveEOF() {
        finish()
    }

    /// The close timer fired: give up on the peer and end the connection.
    public mutating func closeTimeoutElapsed() {
        finish()
    }

    /// The next thing that happened, or nil when there is nothing new.
    ///
    /// Acts on the frames `receive(_:)` found, in order, until one produces an event, and
    /// queues what each needs sent (a pong, a close frame). Call it until it returns nil
    /// before `nextOutput()`.
    public mutating func nextEvent() -> WebSocketEvent? {
        while events.isEmpty, scanner.hasWork {
            processNextFrame()
        }
        scanner.releaseIfConsumed(resetFront: false)  // an idle connection holds no buffer
        return events.popFirst()
    }

    /// Acts on the next scanned frame; after the last one, on the scan error or the frame
    /// still arriving.
    private mutating func processNextFrame() {
        guard acceptsInput else {
            scanner.dropAll()
            return
        }
        switch scanner.next() {
        case .frame(let header, let payload, let alreadyValidated):
            handleFrame(header, payload: payload, alreadyValidated: alreadyValidated)
        case .failure(let error):
            fail(error)
        case .partial(let header):
            // A frame is still arriving. Fail fast on what is already known to be wrong:
            // the sequence, the message size, and text that is already invalid.
            if let error = assembler.admissionError(header) {
                return fail(error)
            }
            scanner.reserveRestOfPartialFrame()
            guard assembler.isTextInProgress(header), let arrived = scanner.unvalidatedPartialPayload() else {
                return
            }
            guard assembler.validateArrivedText(header, arrived.bytes, fromStart: arrived.fromStart) else {
                return fail(WebSocketProtocolError(.invalidUTF8))
            }
            scanner.markPartialPayloadValidated()
        case nil:
            break
        }
    }

    /// Finishes any scanned frames, so that new bytes can be appended.
    mutating func processAllScannedFrames() {
        while scanner.hasWork { processNextFrame() }
        scanner.releaseIfConsumed(resetFront: true)
    }

    private mutating func handleFrame(_ header: WebSocketFrameHeader, payload: ByteBuffer, alreadyValidated: Int) {
        if header.opcode.isControl {
            if let error = WebSocketFrameRules.reservedBitsError(header, extensionBits: extensions.reservedBits) {
                return fail(error)
            }
            switch header.opcode {
            case .ping:
                if configuration.autoReplyToPings, acceptsInput {
                    // RFC 6455 §5.5.2: answer unless the peer's close frame already came.
                    output.writeFrame(opcode: .pong, payload: payload)
                }
                events.append(.ping(payload))
            case .pong:
                events.append(.pong(payload))
            default:
                handleClose(payload)
            }
            return
        }
        if let error = assembler.admissionError(header) {
            return fail(error)
        }
        switch assembler.append(header, payload: payload, alreadyValidated: alreadyValidated) {
        case .incomplete:
            break
        case .message(let message):
            events.append(.message(message))
        case .failure(let error):
            fail(error)
        }
    }

    // MARK: - Output

    /// The next thing to do with the transport, or nil when there is nothing to send.
    ///
    /// A message larger than `outboundFragmentSize`, and the data sent after it, leave one
    /// frame per call, behind any control frame queued in the meantime. A driver passes
    /// `includingDeferredData: false` while its transport has no room (a full socket
    /// buffer), so that such data does not pile up in the transport ahead of a later pong:
    /// control frames, and data sent while nothing is deferred, come out either way.
    public mutating func nextOutput(includingDeferredData: Bool = true) -> WebSocketOutput? {
        output.next(includingDeferredData: includingDeferredData)
    }

    /// True when `nextOutput(includingDeferredData: false)` would return something. Frames
    /// received but not yet reached by `nextEvent()` have queued nothing yet.
    public var hasOutput: Bool { output.hasOutput }

    /// True while data waits behind a fragmented message (`nextOutput(includingDeferredData:)`).
    public var hasDeferredOutput: Bool { output.hasDeferredData }

    /// Counts of the sends that had to wait behind a fragmented message (each message,
    /// fragment, pre-encoded message or close is one): how many were queued, how many have
    /// left through `nextOutput`, and how many were discarded when the connection failed or
    /// ended. A driver that promised to tell a sender when its data was written notes
    /// `queued` right after the send and waits until `emitted` (or `discarded`) reaches it.
    public var deferredSends: (queued: UInt64, emitted: UInt64, discarded: UInt64) {
        output.deferredCounts
    }
}
