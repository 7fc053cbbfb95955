/// The rules of RFC 6455 §5.1-§5.5 (and RFC 7692 §6 for RSV1) that a received frame must
/// follow, each a function of the frame and what came before it. Each returns the error
/// that fails the connection, or nil.
///
/// Limits on messages (size, fragment count, UTF-8) are the assembler's
/// (`WebSocketMessageAssembler`); the rules of close frames are the closing handshake's
/// (`WebSocketConnection+Closing.swift`).
enum WebSocketFrameRules {
    /// Rules that depend on the header alone, checked as soon as a header has arrived.
    static func headerError(
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
        // RFC 6455 §5.2: a reserved opcode fails the connection.
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

    /// RFC 6455 §5.4: a continuation needs a message in progress, and fragments of
    /// different messages must not interleave. Control frames may come between fragments.
    static func sequencingError(
        _ header: WebSocketFrameHeader,
        messageInProgress: Bool
    ) -> WebSocketProtocolError? {
        switch header.opcode {
        case .continuation:
            return messageInProgress ? nil : WebSocketProtocolError(.unexpectedContinuation)
        case .text, .binary:
            return messageInProgress ? WebSocketProtocolError(.expectedContinuation) : nil
        default:
            return nil
        }
    }

    /// RFC 6455 §5.2: reserved bits must be 0 unless an extension defines them; no
    /// extension we know defines them for control frames or continuation frames
    /// (RFC 7692 §6: RSV1 marks the first frame of a compressed message only).
    static func reservedBitsError(
        _ header: WebSocketFrameHeader,
        extensionBits: UInt8
    ) -> WebSocketProtocolError? {
        switch header.opcode {
        case .text, .binary:
            let compressed = header.reservedBits & WebSocketFrameHeader.rsv1 != 0
            guard header.reservedBits & ~extensionBits == 0,
                !compressed || extensionBits & WebSocketFrameHeader.rsv1 != 0
            else {
                return WebSocketProtocolError(.reservedBitsSet)
            }
            return nil
        default:
            return header.reservedBits == 0 ? nil : WebSocketProtocolError(.reservedBitsSet)
        }
    }
}
