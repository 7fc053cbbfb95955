import NIOCore

/// A complete WebSocket message: text (valid UTF-8) or binary.
///
/// The payload stays in a `ByteBuffer`, so echoing or forwarding a message costs no
/// decoding; `text` decodes on demand.
///
/// Two messages are equal when their kind and payload are; `compression` and any
/// pre-encoding (`WebSocketPreEncodedMessage`) are sending hints and take no part.
public struct WebSocketMessage: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case text
        case binary
    }

    /// Whether to compress this message when a compression extension (permessage-deflate)
    /// was negotiated. Received messages carry `.automatic`.
    public enum Compression: Sendable, Hashable {
        /// The extension decides: messages under its size threshold go as they are.
        case automatic
        /// Compress whatever the size, if the extension is in use.
        case always
        /// Send as it is: for data that is already compressed (images, archives) or too
        /// short to gain anything.
        case never
    }

    public var kind: Kind {
        didSet { encodings = nil }
    }
    /// The payload. For `.text` it is valid UTF-8.
    public var data: ByteBuffer {
        didSet { encodings = nil }
    }
    /// Whether to compress when sending. Default `.automatic`.
    public var compression: Compression {
        didSet { encodings = nil }
    }
    /// Frames already made for this message, shared by every connection that sends it
    /// (set by `WebSocketPreEncodedMessage`; dropped when the message is changed).
    var encodings: WebSocketEncodingCache?

    /// Wraps a payload. For `.text`, `data` must be valid UTF-8; the initialisers
    /// below guarantee it.
    public init(kind: Kind, data: ByteBuffer, compression: Compression = .automatic) {
        self.kind = kind
        self.data = data
        self.compression = compression
    }

    public static func text(_ string: String) -> WebSocketMessage {
        WebSocketMessage(kind: .text, data: ByteBuffer(string: string))
    }

    public static func binary(_ data: ByteBuffer) -> WebSocketMessage {
        WebSocketMessage(kind: .binary, data: data)
    }

    public static func binary<Bytes: Sequence>(_ bytes: Bytes) -> WebSocketMessage where Bytes.Element == UInt8 {
        WebSocketMessage(kind: .binary, data: ByteBuffer(bytes: bytes))
    }

    /// This message with another compression choice, for a one-off override:
    /// `socket.send(.binary(png).compression(.never))`.
    public func compression(_ choice: Compression) -> WebSocketMessage {
        var copy = self
        copy.compression = choice
        return copy
    }

    /// The payload as a string if this is a text message.
    public var text: String? {
        guard kind == .text else { return nil }
        return String(buffer: data)
    }

    var opcode: WebSocketOpcode { kind == .text ? .text : .binary }

    public static func == (lhs: WebSocketMessage, rhs: WebSocketMessage) -> Bool {
        lhs.kind == rhs.kind && lhs.data == rhs.data
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(data)
    }

    public var description: String {
        switch kind {
        case .text: return "text(\(data.readableBytes) bytes)"
        case .binary: return "binary(\(data.readableBytes) bytes)"
        }
    }
}

/// How a connection ended, as the application sees it.
public struct WebSocketCloseStatus: Sendable, Hashable, CustomStringConvertible {
    /// The code the peer sent; 1005 if its close frame had none; 1006 if no close frame arrived.
    public var code: WebSocketCloseCode
    /// The reason the peer sent, if any.
    public var reason: String
    /// True when both close frames were exchanged before the transport closed.
    public var wasClean: Bool
    /// Why this endpoint failed the connection, if it did.
    public var error: WebSocketProtocolError?

    public init(code: WebSocketCloseCode, reason: String, wasClean: Bool, error: WebSocketProtocolError? = nil) {
        self.code = code
        self.reason = reason
        self.wasClean = wasClean
        self.error = error
    }

    public var description: String {
        var text = "code \(code.rawValue)"
        if !reason.isEmpty { text += ", reason \"\(reason)\"" }
        text += wasClean ? ", clean" : ", not clean"
        if let error { text += ", error: \(error)" }
        return text
    }
}

/// What the protocol core reports to its driver, in order.
public enum WebSocketEvent: Sendable, Hashable {
    /// A whole message, reassembled and validated.
    case message(WebSocketMessage)
    /// The peer pinged. With `autoReplyToPings` the pong is already queued.
    case ping(ByteBuffer)
    /// The peer sent a pong.
    case pong(ByteBuffer)
    /// The peer's close frame arrived; the connection is closing.
    case closeReceived(code: WebSocketCloseCode?, reason: String)
    /// The connection is over. Nothing follows.
    case closed(WebSocketCloseStatus)
}

/// What the driver must do with the transport, in order.
public enum WebSocketOutput: Sendable, Hashable {
    /// Write these bytes.
    case bytes(ByteBuffer)
    /// Close the sending side of the transport (TCP FIN), and keep reading until EOF.
    case shutdownOutput
    /// Close the transport once the bytes before this output are written: the closing
    /// handshake is complete and this server closes the TCP connection first
    /// (RFC 6455 §7.1.1). Nothing more is expected from the peer.
    case closeTransport
}
