import NIOCore

/// The closing handshake (RFC 6455 §7) and failing the connection (§7.1.7): every move
/// between the stages of `WebSocketConnection.Phase` after `.open` happens here.
extension WebSocketConnection {
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
        // RFC 6455 §5.5: a control frame carries at most 125 bytes, 2 of them the code.
        guard reason.utf8.count <= 123 else { throw .closeReasonTooLong }
        guard isOpen else { return }
        // RFC 6455 §5.5.1: no data frame may follow the close frame, so it waits behind
        // deferred data, if any.
        let mark = output.queueFrame(opcode: .close, payload: closeBody(code: code, reason: reason))
        phase = .closeSent(closeFrameMark: mark)
    }

    /// Fails the connection (RFC 6455 §7.1.7): sends a close frame with the error's code
    /// unless one was sent already and ignores further input. A server half-closes the
    /// transport; a client leaves that to the server.
    public mutating func fail(_ error: WebSocketProtocolError) {
        switch phase {
        case .open:
            // The close frame goes ahead of any data still waiting, which is dropped.
            output.discardDeferred()
            output.writeFrame(opcode: .close, payload: closeBody(code: error.closeCode, reason: error.reason))
        case .closeSent(let mark):
            if let mark, output.deferredCounts.emitted < mark {
                // Our close frame had not left yet: send one with the error's code now.
                output.discardDeferred()
                output.writeFrame(opcode: .close, payload: closeBody(code: error.closeCode, reason: error.reason))
            }
            output.discardDeferred()
        case .closeHandshakeDone, .failed, .closed:
            return
        }
        phase = .failed(error)
        assembler.reset()
        scanner.dropAll()
        // RFC 6455 §7.1.1: the server closes the TCP connection first; a client should wait
        // for it (within the close timeout) so that the server does not hold TIME_WAIT.
        if role == .server {
            output.queueTransportAction(.shutdownOutput)
        } else {
            output.flushPendingBytes()
        }
    }

    /// The peer's close frame arrived.
    mutating func handleClose(_ payload: ByteBuffer) {
        let peerClose: PeerClose
        switch Self.parseCloseBody(payload) {
        case .success(let parsed): peerClose = parsed
        case .failure(let error): return fail(error)
        }
        switch phase {
        case .open:
            // RFC 6455 §5.5.1: answer with a close frame, echoing the status code (after
            // the message being sent, which the RFC allows).
            var body = output.allocator.buffer(capacity: 2)
            if let code = peerClose.code { body.writeInteger(code.rawValue) }
            output.queueFrame(opcode: .close, payload: body)
        case .closeSent:
            break
        case .closeHandshakeDone, .failed, .closed:
            return
        }
        phase = .closeHandshakeDone(peerClose: peerClose)
        assembler.reset()
        events.append(.closeReceived(code: peerClose.code, reason: peerClose.reason))
        // RFC 6455 §7.1.1: the server closes the TCP connection first. Both close frames
        // are exchanged, so a full close loses nothing and saves the wait for the FIN.
        if role == .server {
            output.queueTransportAction(.closeTransport)
        }
    }

    /// The code and reason of a close frame's body, or the rule it breaks.
    private static func parseCloseBody(_ payload: ByteBuffer) -> Result<PeerClose, WebSocketProtocolError> {
        var payload = payload
        switch payload.readableBytes {
        case 0:
            return .success(PeerClose(code: nil, reason: ""))
        case 1:
            // RFC 6455 §5.5.1: a close body starts with a two-byte code.
            return .failure(WebSocketProtocolError(.closePayloadOfOneByte))
        default:
            let received = WebSocketCloseCode(payload.readInteger(as: UInt16.self)!)
            // RFC 6455 §7.4: codes a peer may not send fail the connection.
            guard received.isAcceptableFromPeer else {
                return .failure(WebSocketProtocolError(.invalidCloseCode(received.rawValue)))
            }
            var validator = UTF8Validator()
            let ok = payload.readableBytesView.withUnsafeBytes { validator.validate($0) }
            // RFC 6455 §7.1.6: the reason is UTF-8.
            guard ok, validator.isComplete else { return .failure(WebSocketProtocolError(.invalidCloseReasonUTF8)) }
            return .success(PeerClose(code: received, reason: String(buffer: payload)))
        }
    }

    /// The body of a close frame this endpoint sends: no body without a code.
    private func closeBody(code: WebSocketCloseCode?, reason: String) -> ByteBuffer {
        var body = output.allocator.buffer(capacity: 2 + reason.utf8.count)
        if let code {
            body.writeInteger(code.rawValue)
            body.writeString(reason)
        }
        return body
    }

    /// The transport ended, or the close timer fired: report how (RFC 6455 §7.1.5, §7.4.1:
    /// 1005 when the peer's close frame had no code, 1006 when none came).
    mutating func finish() {
        processAllScannedFrames()
        let status: WebSocketCloseStatus
        switch phase {
        case .closed:
            return
        case .closeHandshakeDone(let peerClose):
            status = WebSocketCloseStatus(
                code: peerClose.code ?? .noStatusReceived,
                reason: peerClose.reason,
                wasClean: true
            )
        case .open, .closeSent:
            status = WebSocketCloseStatus(code: .abnormalClosure, reason: "", wasClean: false)
        case .failed(let error):
            status = WebSocketCloseStatus(code: .abnormalClosure, reason: "", wasClean: false, error: error)
        }
        phase = .closed
        scanner.dropAll()
        assembler.reset()
        output.discardDeferred()
        extensions.release()
        events.append(.closed(status))
    }
}
