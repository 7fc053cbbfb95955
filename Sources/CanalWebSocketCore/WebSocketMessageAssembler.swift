import NIOCore

/// Turns received data frames into messages: joins fragments (RFC 6455 §5.4), checks that
/// text is UTF-8 (§8.1) as it arrives, decodes through the negotiated extension (RFC 7692
/// §6: RSV1 on the first frame marks a compressed message), and enforces the frame,
/// message and fragment limits of `WebSocketConfiguration`.
struct WebSocketMessageAssembler {
    /// The message whose fragments are arriving.
    private struct InboundMessage {
        var kind: WebSocketMessage.Kind
        var data: ByteBuffer
        var fragments: Int
        /// Set when the extension pipeline must decode the message (RSV1 with permessage-deflate).
        var compressed: Bool
    }

    /// What a data frame did to the message.
    enum Outcome {
        /// More fragments are expected.
        case incomplete
        /// The frame ended a valid message.
        case message(WebSocketMessage)
        /// The frame broke a rule: fail the connection.
        case failure(WebSocketProtocolError)
    }

    private let maxFrameSize: Int
    private let maxMessageSize: Int
    private let maxFragmentCount: Int
    private let extensions: WebSocketExtensionPipeline
    private var message: InboundMessage?
    private var utf8 = UTF8Validator()

    init(configuration: WebSocketConfiguration, extensions: WebSocketExtensionPipeline) {
        self.maxFrameSize = configuration.maxFrameSize
        self.maxMessageSize = configuration.maxMessageSize
        self.maxFragmentCount = configuration.maxFragmentCount
        self.extensions = extensions
    }

    /// Forgets the message in progress: the connection is closing or failed.
    mutating func reset() {
        message = nil
    }

    /// The rules a data frame's header must meet before its payload is buffered: its place
    /// in the sequence of fragments and the size limits.
    func admissionError(_ header: WebSocketFrameHeader) -> WebSocketProtocolError? {
        WebSocketFrameRules.sequencingError(header, messageInProgress: message != nil) ?? sizeError(header)
    }

    /// Frame and message limits known from the header. A compressed frame is held to the
    /// frame limit plus the extension's overhead; its message is held to the message limit
    /// after inflation (in `append`).
    private func sizeError(_ header: WebSocketFrameHeader) -> WebSocketProtocolError? {
        guard !header.opcode.isControl else { return nil }
        if isCompressed(header) {
            if header.payloadLength > extensions.maxEncodedSize(decodedLimit: maxFrameSize) {
                return WebSocketProtocolError(.frameTooBig(header.payloadLength))
            }
            return nil
        }
        if header.payloadLength > maxFrameSize {
            return WebSocketProtocolError(.frameTooBig(header.payloadLength))
        }
        let soFar = message?.data.readableBytes ?? 0
        if soFar + header.payloadLength > maxMessageSize {
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

    /// Whether the frame carries uncompressed text, which can be validated while it arrives.
    func isTextInProgress(_ header: WebSocketFrameHeader) -> Bool {
        switch header.opcode {
        case .text: return header.reservedBits == 0
        case .continuation: return message?.kind == .text && !(message?.compressed ?? true)
        default: return false
        }
    }

    /// Validates the part of a text frame that has arrived, so that invalid text fails the
    /// connection before the rest of a large frame is buffered (RFC 6455 §8.1).
    /// `fromStart` when these are the frame's first bytes.
    mutating func validateArrivedText(
        _ header: WebSocketFrameHeader,
        _ bytes: ByteBufferView.SubSequence,
        fromStart: Bool
    ) -> Bool {
        if header.opcode == .text, fromStart { utf8.reset() }
        return bytes.withUnsafeBytes { utf8.validate($0) }
    }

    /// Adds a complete data frame whose header passed `admissionError`. The first
    /// `alreadyValidated` bytes of its payload went through `validateArrivedText`.
    mutating func append(
        _ header: WebSocketFrameHeader,
        payload: ByteBuffer,
        alreadyValidated: Int
    ) -> Outcome {
        if let error = WebSocketFrameRules.reservedBitsError(header, extensionBits: extensions.reservedBits) {
            return .failure(error)
        }
        var inbound: InboundMessage
        if header.opcode == .continuation {
            inbound = message!
            message = nil
            inbound.fragments += 1
            guard inbound.fragments <= maxFragmentCount else {
                return .failure(WebSocketProtocolError(.tooManyFragments))
            }
        } else {
            inbound = InboundMessage(
                kind: header.opcode == .text ? .text : .binary,
                data: ByteBuffer(),
                fragments: 1,
                compressed: header.reservedBits & WebSocketFrameHeader.rsv1 != 0
            )
            if inbound.kind == .text, alreadyValidated == 0 { utf8.reset() }
        }

        if inbound.compressed {
            let limit = maxMessageSize - inbound.data.readableBytes
            switch extensions.decode(payload, isFinal: header.fin, limit: limit) {
            case .success(let decoded):
                if inbound.kind == .text {
                    let ok = decoded.readableBytesView.withUnsafeBytes { utf8.validate($0) }
                    guard ok else { return .failure(WebSocketProtocolError(.invalidUTF8)) }
                }
                Self.append(decoded, to: &inbound)
            case .failure(let error):
                return .failure(error)
            }
        } else {
            if inbound.kind == .text {
                let view = payload.readableBytesView
                let ok = view[(view.startIndex + alreadyValidated)...].withUnsafeBytes { utf8.validate($0) }
                guard ok else { return .failure(WebSocketProtocolError(.invalidUTF8)) }
            }
            Self.append(payload, to: &inbound)
        }

        guard header.fin else {
            message = inbound
            return .incomplete
        }
        // RFC 6455 §8.1: a text message must end on a whole character.
        if inbound.kind == .text, !utf8.isComplete {
            return .failure(WebSocketProtocolError(.invalidUTF8))
        }
        return .message(WebSocketMessage(kind: inbound.kind, data: inbound.data))
    }

    private static func append(_ payload: ByteBuffer, to inbound: inout InboundMessage) {
        if inbound.data.readableBytes == 0 {
            inbound.data = payload  // a single frame is passed on without a copy
        } else {
            inbound.data.writeImmutableBuffer(payload)
        }
    }
}
