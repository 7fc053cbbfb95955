/// A close status code (RFC 6455 §7.4).
///
/// Use the named constants when closing; `isSendable` and `isAcceptableFromPeer`
/// encode which codes may appear on the wire.
public struct WebSocketCloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// 1000: the purpose of the connection has been fulfilled.
    public static let normalClosure = WebSocketCloseCode(1000)
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    public static let goingAway = WebSocketCloseCode(1001)
    /// 1002: the peer broke the protocol.
    public static let protocolError = WebSocketCloseCode(1002)
    /// 1003: the endpoint cannot accept this kind of data.
    public static let unsupportedData = WebSocketCloseCode(1003)
    /// 1005: no status code was present. Reported locally, never sent.
    public static let noStatusReceived = WebSocketCloseCode(1005)
    /// 1006: the connection closed without a close frame. Reported locally, never sent.
    public static let abnormalClosure = WebSocketCloseCode(1006)
    /// 1007: a text message (or close reason) was not valid UTF-8.
    public static let invalidFramePayloadData = WebSocketCloseCode(1007)
    /// 1008: a message violated the endpoint's policy.
    public static let policyViolation = WebSocketCloseCode(1008)
    /// 1009: a message or frame was larger than the configured limit.
    public static let messageTooBig = WebSocketCloseCode(1009)
    /// 1010: the server did not negotiate an extension the client requires.
    public static let mandatoryExtension = WebSocketCloseCode(1010)
    /// 1011: the server hit an unexpected condition.
    public static let internalError = WebSocketCloseCode(1011)
    /// 1012: the service is restarting (IANA registry).
    public static let serviceRestart = WebSocketCloseCode(1012)
    /// 1013: try again later (IANA registry).
    public static let tryAgainLater = WebSocketCloseCode(1013)
    /// 1014: a gateway received an invalid response (IANA registry).
    public static let badGateway = WebSocketCloseCode(1014)
    /// 1015: the TLS handshake failed. Reported locally, never sent.
    public static let tlsHandshakeFailure = WebSocketCloseCode(1015)

    /// Whether a peer may put this code in a close frame (RFC 6455 §7.4.1, §7.4.2 and the
    /// IANA registry). 1005, 1006 and 1015 are for local reporting only; 0-999 are unused;
    /// 1016-2999 are reserved for future RFCs; 3000-4999 belong to libraries and applications.
    public var isAcceptableFromPeer: Bool {
        switch rawValue {
        case 1000...1003, 1007...1014: return true
        case 3000...4999: return true
        default: return false
        }
    }

    /// Whether this endpoint may send the code. Same rule as for the peer.
    public var isSendable: Bool { isAcceptableFromPeer }

    public var description: String { String(rawValue) }
}
