/// Why an endpoint failed the connection. Each case maps to the close code sent to the peer.
///
/// The reason text sent on the wire is short and generic; `description` adds detail for logs.
public struct WebSocketProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Kind: Hashable, Sendable {
        case reservedBitsSet
        case reservedOpcode(UInt8)
        case unmaskedClientFrame
        case maskedServerFrame
        case fragmentedControlFrame
        case controlFrameTooLong(Int)
        case lengthTooLarge
        case unexpectedContinuation
        case expectedContinuation
        case frameTooBig(Int)
        case messageTooBig
        case tooManyFragments
        case invalidUTF8
        case invalidCloseCode(UInt16)
        case closePayloadOfOneByte
        case invalidCloseReasonUTF8
        case dataAfterClose
        case extensionFailure(String)
        case keepaliveTimeout
        case slowReader
    }

    let kind: Kind

    init(_ kind: Kind) {
        self.kind = kind
    }

    /// The close code that reports this error to the peer.
    public var closeCode: WebSocketCloseCode {
        switch kind {
        case .frameTooBig, .messageTooBig, .tooManyFragments:
            return .messageTooBig
        case .invalidUTF8, .invalidCloseReasonUTF8:
            return .invalidFramePayloadData
        case .keepaliveTimeout:
            return .internalError
        case .slowReader:
            return .policyViolation
        case .reservedBitsSet, .reservedOpcode, .unmaskedClientFrame, .maskedServerFrame,
            .fragmentedControlFrame, .controlFrameTooLong, .lengthTooLarge,
            .unexpectedContinuation, .expectedContinuation, .invalidCloseCode,
            .closePayloadOfOneByte, .dataAfterClose, .extensionFailure:
            return .protocolError
        }
    }

    /// The short reason sent in the close frame. Never carries internal detail.
    public var reason: String {
        switch kind {
        case .frameTooBig: return "frame too big"
        case .messageTooBig, .tooManyFragments: return "message too big"
        case .invalidUTF8: return "invalid UTF-8 in text message"
        case .invalidCloseReasonUTF8: return "invalid UTF-8 in close reason"
        case .reservedBitsSet: return "reserved bits set"
        case .reservedOpcode: return "reserved opcode"
        case .unmaskedClientFrame: return "client frame not masked"
        case .maskedServerFrame: return "server frame masked"
        case .fragmentedControlFrame: return "fragmented control frame"
        case .controlFrameTooLong: return "control frame too long"
        case .lengthTooLarge: return "invalid payload length"
        case .unexpectedContinuation: return "unexpected continuation frame"
        case .expectedContinuation: return "expected continuation frame"
        case .invalidCloseCode: return "invalid close code"
        case .closePayloadOfOneByte: return "invalid close frame"
        case .dataAfterClose: return "data after close"
        case .extensionFailure: return "extension error"
        case .keepaliveTimeout: return "keepalive ping timeout"
        case .slowReader: return "too slow to read"
        }
    }

    public var description: String {
        switch kind {
        case .reservedOpcode(let value): return "reserved opcode 0x\(String(value, radix: 16))"
        case .controlFrameTooLong(let length): return "control frame of \(length) bytes (limit 125)"
        case .frameTooBig(let length): return "frame of \(length) bytes is over the limit"
        case .invalidCloseCode(let code): return "close code \(code) is not allowed on the wire"
        case .extensionFailure(let detail): return "extension error: \(detail)"
        default: return reason
        }
    }

    /// The peer did not answer a keepalive ping in time (1011, as python `websockets`).
    public static let keepaliveTimeout = WebSocketProtocolError(.keepaliveTimeout)

    /// The peer left more than `maxUnreadOutput` bytes unread (1008; the frame rarely gets
    /// through, as the peer is not reading).
    public static let slowReader = WebSocketProtocolError(.slowReader)

    /// A message over `maxMessageSize`, such as one that inflates past it (1009).
    public static let messageTooBig = WebSocketProtocolError(.messageTooBig)

    public static func extensionFailure(_ detail: String) -> WebSocketProtocolError {
        WebSocketProtocolError(.extensionFailure(detail))
    }
}

/// Misuse of the API by the application, such as sending after the connection closed.
public struct WebSocketUsageError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }

    static let notOpen = WebSocketUsageError("the connection is not open for sending")
    static let controlPayloadTooLong = WebSocketUsageError("control frame payloads are limited to 125 bytes")
    static let closeCodeNotSendable = WebSocketUsageError("this close code may not be sent")
    static let closeReasonTooLong = WebSocketUsageError("close reasons are limited to 123 bytes of UTF-8")
    static let fragmentSequence = WebSocketUsageError("a fragmented message is already being sent")
    static func subprotocolNotOffered(_ name: String) -> WebSocketUsageError {
        WebSocketUsageError("the client did not offer the subprotocol \"\(name)\"")
    }
}
