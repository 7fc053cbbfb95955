import NIOCore
import NIOHTTP1

/// A request that passed the server-side handshake checks (RFC 6455 §4.2.1), ready for
/// the application to accept or reject.
public struct WebSocketUpgradeRequest: Sendable {
    public let head: HTTPRequestHead
    /// The request target, with any query string.
    public var uri: String { head.uri }
    /// The path without the query string.
    public var path: String {
        guard let index = head.uri.firstIndex(of: "?") else { return head.uri }
        return String(head.uri[..<index])
    }
    public var headers: HTTPHeaders { head.headers }
    /// The `Origin` header, which browsers always send. Check it against an allow-list
    /// to stop other sites from connecting with the user's cookies (RFC 6455 §10.2).
    public var origin: String? { head.headers.first(name: "Origin") }
    /// Subprotocols the client offered, in its order of preference.
    public let requestedProtocols: [String]
    /// Extensions the client offered.
    public let extensionOffers: [WebSocketExtensionOffer]
    /// The peer's address, filled in by the server that received the request.
    public var remoteAddress: SocketAddress?
    let key: String
}

/// The response refusing a handshake: status, headers and a short plain-text body.
public struct WebSocketHandshakeRejection: Error, Sendable, Equatable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: String

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: String? = nil) {
        self.status = status
        self.headers = headers
        self.body = body ?? status.reasonPhrase
    }
}

/// The server side of the opening handshake.
public enum WebSocketServerHandshake {
    /// True when the request asks to upgrade to WebSocket, valid or not. Use it to route
    /// a request to the WebSocket path rather than to ordinary HTTP handling.
    public static func isUpgradeRequest(_ head: HTTPRequestHead) -> Bool {
        WebSocketHandshake.containsToken(head.headers, "Upgrade", "websocket")
    }

    /// Checks a request against RFC 6455 §4.2.1.
    ///
    /// A request for another version gets 426 with `Sec-WebSocket-Version: 13` (§4.2.2);
    /// any other defect gets 400 (or 405 for a method other than GET).
    public static func validate(_ head: HTTPRequestHead) -> Result<WebSocketUpgradeRequest, WebSocketHandshakeRejection> {
        guard head.method == .GET else {
            var headers = HTTPHeaders()
            headers.add(name: "Allow", value: "GET")
            return .failure(WebSocketHandshakeRejection(status: .methodNotAllowed, headers: headers))
        }
        guard head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1) else {
            return .failure(WebSocketHandshakeRejection(status: .badRequest, body: "HTTP/1.1 or later is required"))
        }
        let headers = head.headers
        guard headers.first(name: "Host") != nil else {
            return .failure(WebSocketHandshakeRejection(status: .badRequest, body: "Missing Host header"))
        }
        guard WebSocketHandshake.containsToken(headers, "Upgrade", "websocket") else {
            return .failure(WebSocketHandshakeRejection(status: .badRequest, body: "Invalid Upgrade header"))
        }
        guard WebSocketHandshake.containsToken(headers, "Connection", "upgrade") else {
            return .failure(WebSocketHandshakeRejection(status: .badRequest, body: "Invalid Connection header"))
        }
        guard headers["Sec-WebSocket-Version"].map({ WebSocketHandshake.trim($0) }) == [WebSocketHandshake.version]
        else {
            var extra = HTTPHeaders()
            extra.add(name: "Sec-WebSocket-Version", value: WebSocketHandshake.version)
            return .failure(
                WebSocketHandshakeRejection(status: .upgradeRequired, headers: extra, body: "Unsupported WebSocket version")
            )
        }
        let keys = headers["Sec-WebSocket-Key"]
        guard keys.count == 1, WebSocketHandshake.isValidKey(WebSocketHandshake.trim(keys[0])) else {
            return .failure(WebSocketHandshakeRejection(status: .badRequest, body: "Invalid Sec-WebSocket-Key"))
        }
        guard let offers = WebSocketExtensionOffer.parse(headers) else {
            return .failure(WebSocketHandshakeRejection(status: .badRequest, body: "Invalid Sec-WebSocket-Extensions"))
        }
        let protocols = WebSocketHandshake.tokens(headers, "Sec-WebSocket-Protocol")
        return .success(
            WebSocketUpgradeRequest(
                head: head,
                requestedProtocols: protocols,
                extensionOffers: offers,
                key: WebSocketHandshake.trim(keys[0])
            )
        )
    }

    /// The 101 response accepting `request`.
    ///
    /// - Parameters:
    ///   - subprotocol: one of `request.requestedProtocols`, or nil.
    /// - Throws: `WebSocketUsageError` when `subprotocol` is not one the client offered:
    ///   RFC 6455 §4.1 has the client fail the connection on such a response, so a server
    ///   should refuse the upgrade instead (a 500 says the fault is the server's).
    ///   - extensions: the accepted extensions with their response parameters.
    ///   - headers: extra headers, such as `Set-Cookie`.
    public static func acceptResponse(
        for request: WebSocketUpgradeRequest,
        subprotocol: String? = nil,
        extensions: [WebSocketExtensionOffer] = [],
        headers extra: HTTPHeaders = HTTPHeaders()
    ) throws(WebSocketUsageError) -> HTTPResponseHead {
        if let subprotocol, !request.requestedProtocols.contains(subprotocol) {
            throw WebSocketUsageError.subprotocolNotOffered(subprotocol)
        }
        var headers = HTTPHeaders()
        headers.reserveCapacity(5 + extra.count)
        headers.add(name: "Upgrade", value: "websocket")
        headers.add(name: "Connection", value: "Upgrade")
        headers.add(name: "Sec-WebSocket-Accept", value: WebSocketHandshake.acceptValue(forKey: request.key))
        if let subprotocol {
            headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol)
        }
        if !extensions.isEmpty {
            headers.add(name: "Sec-WebSocket-Extensions", value: extensions.map(\.description).joined(separator: ", "))
        }
        headers.add(contentsOf: extra)
        return HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers)
    }
}
