import NIOHTTP1

/// Why a client's opening handshake failed.
public struct WebSocketHandshakeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server's HTTP status when it answered with something other than 101.
    public var status: HTTPResponseStatus?
    public var description: String

    public init(status: HTTPResponseStatus? = nil, _ description: String) {
        self.status = status
        self.description = description
    }
}

/// The client side of the opening handshake (RFC 6455 §4.1).
public struct WebSocketClientHandshake: Sendable {
    public let url: WebSocketURL
    /// The `Sec-WebSocket-Key` sent; the response must prove it saw it.
    public let key: String
    public let protocols: [String]
    public let extensionOffers: [WebSocketExtensionOffer]
    public let origin: String?
    public let extraHeaders: HTTPHeaders

    public init(
        url: WebSocketURL,
        key: String = WebSocketHandshake.makeKey(),
        protocols: [String] = [],
        extensionOffers: [WebSocketExtensionOffer] = [],
        origin: String? = nil,
        headers: HTTPHeaders = HTTPHeaders()
    ) {
        self.url = url
        self.key = key
        self.protocols = protocols
        self.extensionOffers = extensionOffers
        self.origin = origin
        self.extraHeaders = headers
    }

    /// The GET request to send.
    public var requestHead: HTTPRequestHead {
        var headers = HTTPHeaders()
        if extraHeaders.first(name: "Host") == nil {
            headers.add(name: "Host", value: url.hostHeader)
        }
        headers.add(name: "Upgrade", value: "websocket")
        headers.add(name: "Connection", value: "Upgrade")
        headers.add(name: "Sec-WebSocket-Key", value: key)
        headers.add(name: "Sec-WebSocket-Version", value: WebSocketHandshake.version)
        if !protocols.isEmpty {
            headers.add(name: "Sec-WebSocket-Protocol", value: protocols.joined(separator: ", "))
        }
        if !extensionOffers.isEmpty {
            headers.add(name: "Sec-WebSocket-Extensions", value: extensionOffers.map(\.description).joined(separator: ", "))
        }
        if let origin {
            headers.add(name: "Origin", value: origin)
        }
        headers.add(contentsOf: extraHeaders)
        return HTTPRequestHead(version: .http1_1, method: .GET, uri: url.requestTarget, headers: headers)
    }

    /// What the server agreed to.
    public struct Negotiated: Sendable, Hashable {
        public var subprotocol: String?
        public var extensions: [WebSocketExtensionOffer]
    }

    /// Checks the server's response (RFC 6455 §4.1, the client's checks 1-6).
    public func validate(_ response: HTTPResponseHead) -> Result<Negotiated, WebSocketHandshakeError> {
        guard response.status == .switchingProtocols else {
            return .failure(
                WebSocketHandshakeError(
                    status: response.status,
                    "the server answered \(response.status.code) \(response.status.reasonPhrase) instead of upgrading"
                )
            )
        }
        let headers = response.headers
        guard WebSocketHandshake.containsToken(headers, "Upgrade", "websocket") else {
            return .failure(WebSocketHandshakeError(status: response.status, "missing or wrong Upgrade header"))
        }
        guard WebSocketHandshake.containsToken(headers, "Connection", "upgrade") else {
            return .failure(WebSocketHandshakeError(status: response.status, "missing or wrong Connection header"))
        }
        let accept = headers["Sec-WebSocket-Accept"].map { WebSocketHandshake.trim($0) }
        guard accept == [WebSocketHandshake.acceptValue(forKey: key)] else {
            return .failure(WebSocketHandshakeError(status: response.status, "Sec-WebSocket-Accept does not match the key"))
        }
        let selected = WebSocketHandshake.tokens(headers, "Sec-WebSocket-Protocol")
        guard selected.count <= 1, selected.allSatisfy({ protocols.contains($0) }) else {
            return .failure(
                WebSocketHandshakeError(status: response.status, "the server selected a subprotocol that was not offered")
            )
        }
        guard let accepted = WebSocketExtensionOffer.parse(headers) else {
            return .failure(WebSocketHandshakeError(status: response.status, "invalid Sec-WebSocket-Extensions header"))
        }
        let offeredNames = Set(extensionOffers.map(\.name))
        guard accepted.allSatisfy({ offeredNames.contains($0.name) }) else {
            return .failure(
                WebSocketHandshakeError(status: response.status, "the server accepted an extension that was not offered")
            )
        }
        return .success(Negotiated(subprotocol: selected.first, extensions: accepted))
    }
}
