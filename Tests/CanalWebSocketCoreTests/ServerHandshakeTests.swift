import NIOCore
import NIOHTTP1
import Testing

@testable import CanalWebSocketCore

/// The opening handshake, server side: RFC 6455 §4.2.1 (reading the request) and §4.2.2
/// (answering it).
@Suite("§4.2 server handshake")
struct ServerHandshakeTests {
    static let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="
    static let sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    /// The request of RFC 6455 §1.2, with `changes` applied: a nil value removes the header.
    static func request(
        method: HTTPMethod = .GET,
        version: HTTPVersion = .http1_1,
        uri: String = "/chat",
        _ changes: [(String, String?)] = [],
        adding extra: [(String, String)] = []
    ) -> HTTPRequestHead {
        var headers = HTTPHeaders([
            ("Host", "server.example.com"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", sampleKey),
            ("Origin", "http://example.com"),
            ("Sec-WebSocket-Version", "13"),
        ])
        for (name, value) in changes {
            headers.remove(name: name)
            if let value { headers.add(name: name, value: value) }
        }
        headers.add(contentsOf: extra)
        return HTTPRequestHead(version: version, method: method, uri: uri, headers: headers)
    }

    static func accepted(
        _ head: HTTPRequestHead,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> WebSocketUpgradeRequest? {
        switch WebSocketServerHandshake.validate(head) {
        case .success(let request):
            return request
        case .failure(let rejection):
            Issue.record("rejected with \(rejection.status.code): \(rejection.body)", sourceLocation: sourceLocation)
            return nil
        }
    }

    static func rejection(
        _ head: HTTPRequestHead,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> WebSocketHandshakeRejection? {
        switch WebSocketServerHandshake.validate(head) {
        case .success:
            Issue.record("accepted \(head.headers)", sourceLocation: sourceLocation)
            return nil
        case .failure(let rejection):
            return rejection
        }
    }

    // MARK: §4.2.1 reading the request

    @Test
    func handshakeAcceptValueForRFCSampleKeyIsTheRFCs() {
        #expect(WebSocketHandshake.acceptValue(forKey: Self.sampleKey) == Self.sampleAccept)
    }

    @Test
    func serverAcceptsRFCSampleRequest() {
        guard let request = Self.accepted(Self.request(uri: "/chat?room=1")) else { return }
        #expect(request.uri == "/chat?room=1")
        #expect(request.path == "/chat")
        #expect(request.origin == "http://example.com")
        #expect(request.requestedProtocols == [])
        #expect(request.extensionOffers == [])
        #expect(request.key == Self.sampleKey)
    }

    @Test(arguments: [
        "websocket", "WebSocket", "WEBSOCKET", " websocket ", "\twebsocket\t", "h2c, websocket", "websocket,foo",
        "h2c,,  websocket",
    ])
    func serverAcceptsUpgradeTokenInAnyCase(_ upgrade: String) {
        _ = Self.accepted(Self.request([("Upgrade", upgrade)]))
    }

    @Test(arguments: [
        "Upgrade", "upgrade", "UPGRADE", "keep-alive, Upgrade", "Upgrade, keep-alive", "keep-alive,upgrade",
    ])
    func serverAcceptsConnectionTokenInAnyCaseAndList(_ connection: String) {
        _ = Self.accepted(Self.request([("Connection", connection)]))
    }

    @Test
    func serverAcceptsConnectionTokenSplitOverTwoHeaderLines() {
        _ = Self.accepted(Self.request([("Connection", "keep-alive")], adding: [("Connection", "Upgrade")]))
    }

    /// Tokens are ASCII (RFC 9110 §5.6.2): a Kelvin sign that lowercases to "k" is no "k".
    @Test(arguments: [nil, "", "h2c", "websockets", "web socket", "websocke", "WEBSOC\u{212A}ET", "websocket;", ","] as [String?])
    func serverRejectsMissingOrWrongUpgradeWith400(_ upgrade: String?) {
        #expect(Self.rejection(Self.request([("Upgrade", upgrade)]))?.status == .badRequest)
    }

    @Test(arguments: [nil, "", "keep-alive", "close", "upgrades"] as [String?])
    func serverRejectsMissingOrWrongConnectionWith400(_ connection: String?) {
        #expect(Self.rejection(Self.request([("Connection", connection)]))?.status == .badRequest)
    }

    @Test(arguments: ["8", "7", "12", "14", "", "13a"])
    func serverRejectsOtherVersionWith426AndItsOwnVersion(_ version: String) {
        // RFC 6455 §4.2.2: answer with the versions the server supports.
        let rejection = Self.rejection(Self.request([("Sec-WebSocket-Version", version)]))
        #expect(rejection?.status == .upgradeRequired)
        #expect(rejection?.headers["Sec-WebSocket-Version"] == ["13"])
    }

    @Test
    func serverRejectsMissingVersion() {
        let rejection = Self.rejection(Self.request([("Sec-WebSocket-Version", nil)]))
        #expect(rejection?.status == .upgradeRequired || rejection?.status == .badRequest)
    }

    @Test(
        arguments: [
            nil, "",
            "dGhlIHNhbXBsZSBub25jZQ",  // padding missing
            "dGhlIHNhbXBsZSBub25j",  // 15 bytes
            "dGhlIHNhbXBsZSBub25jZSEhIQ==",  // 19 bytes
            "!!!!!!!!!!!!!!!!!!!!!!==",  // not base64
            "dGhlIHNhbXBsZSBub25jZQ==dGhl",
        ] as [String?])
    func serverRejectsMissingOrMalformedKeyWith400(_ key: String?) {
        #expect(Self.rejection(Self.request([("Sec-WebSocket-Key", key)]))?.status == .badRequest)
    }

    @Test
    func serverRejectsTwoKeysWith400() {
        let head = Self.request(adding: [("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA==")])
        #expect(Self.rejection(head)?.status == .badRequest)
    }

    @Test
    func serverAcceptsKeyWithSurroundingSpacesAndHashesItTrimmed() throws {
        guard let request = Self.accepted(Self.request([("Sec-WebSocket-Key", "  \(Self.sampleKey) ")])) else { return }
        let response = try WebSocketServerHandshake.acceptResponse(for: request)
        #expect(response.headers["Sec-WebSocket-Accept"] == [Self.sampleAccept])
    }

    @Test(arguments: [HTTPMethod.POST, .PUT, .HEAD, .OPTIONS, .DELETE])
    func serverRejectsMethodOtherThanGETWith405(_ method: HTTPMethod) {
        let rejection = Self.rejection(Self.request(method: method))
        #expect(rejection?.status == .methodNotAllowed)
        #expect(rejection?.headers["Allow"] == ["GET"])
    }

    @Test
    func serverRejectsHTTP10With400() {
        #expect(Self.rejection(Self.request(version: .http1_0))?.status == .badRequest)
    }

    @Test
    func serverRejectsMissingHostWith400() {
        #expect(Self.rejection(Self.request([("Host", nil)]))?.status == .badRequest)
    }

    @Test
    func serverRejectionBodyDefaultsToTheReasonPhrase() {
        #expect(WebSocketHandshakeRejection(status: .forbidden).body == "Forbidden")
    }

    @Test
    func serverRecognisesAnyUpgradeRequestEvenAnInvalidOne() {
        #expect(WebSocketServerHandshake.isUpgradeRequest(Self.request([("Sec-WebSocket-Key", nil)])))
        #expect(WebSocketServerHandshake.isUpgradeRequest(Self.request(method: .POST, [("Upgrade", "WebSocket")])))
        #expect(!WebSocketServerHandshake.isUpgradeRequest(Self.request([("Upgrade", nil)])))
        #expect(!WebSocketServerHandshake.isUpgradeRequest(Self.request([("Upgrade", "h2c")])))
    }

    // MARK: Subprotocols

    @Test
    func serverReadsSubprotocolsInOrderFromEveryHeaderLine() {
        let head = Self.request(
            adding: [("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Protocol", " v2.json ,, ")]
        )
        #expect(Self.accepted(head)?.requestedProtocols == ["chat", "superchat", "v2.json"])
    }

    // MARK: Extension offers (§9.1)

    typealias Offer = WebSocketExtensionOffer
    typealias Parameter = WebSocketExtensionOffer.Parameter

    static func parse(_ values: [String]) -> [Offer]? {
        Offer.parse(HTTPHeaders(values.map { ("Sec-WebSocket-Extensions", $0) }))
    }

    struct OfferFixture: Sendable, CustomTestStringConvertible {
        var header: [String]
        var offers: [Offer]
        var testDescription: String { header.joined(separator: " / ") }
    }

    static let validOffers: [OfferFixture] = [
        OfferFixture(header: ["permessage-deflate"], offers: [Offer(name: "permessage-deflate")]),
        OfferFixture(
            header: ["permessage-deflate; client_max_window_bits"],
            offers: [Offer(name: "permessage-deflate", parameters: [Parameter(name: "client_max_window_bits")])]
        ),
        OfferFixture(
            header: ["permessage-deflate; client_max_window_bits=15; server_no_context_takeover"],
            offers: [
                Offer(
                    name: "permessage-deflate",
                    parameters: [
                        Parameter(name: "client_max_window_bits", value: "15"),
                        Parameter(name: "server_no_context_takeover"),
                    ]
                )
            ]
        ),
        OfferFixture(
            header: ["permessage-deflate; server_max_window_bits=\"10\""],
            offers: [
                Offer(name: "permessage-deflate", parameters: [Parameter(name: "server_max_window_bits", value: "10")])
            ]
        ),
        OfferFixture(
            header: [" permessage-deflate ;\tclient_max_window_bits = 12 "],
            offers: [
                Offer(name: "permessage-deflate", parameters: [Parameter(name: "client_max_window_bits", value: "12")])
            ]
        ),
        OfferFixture(
            header: ["permessage-deflate; client_max_window_bits, permessage-deflate", "x-webkit-deflate-frame"],
            offers: [
                Offer(name: "permessage-deflate", parameters: [Parameter(name: "client_max_window_bits")]),
                Offer(name: "permessage-deflate"),
                Offer(name: "x-webkit-deflate-frame"),
            ]
        ),
    ]

    @Test(arguments: validOffers)
    func extensionOfferParsingReadsNamesAndParameters(_ fixture: OfferFixture) {
        #expect(Self.parse(fixture.header) == fixture.offers)
        // The server takes the same offers from a request.
        var head = Self.request()
        for value in fixture.header { head.headers.add(name: "Sec-WebSocket-Extensions", value: value) }
        #expect(Self.accepted(head)?.extensionOffers == fixture.offers)
    }

    @Test(arguments: [
        ";", "permessage-deflate;", "; permessage-deflate", "permessage deflate", "\"permessage-deflate\"",
        "foo; x=\"1", "foo; x=1\"", "foo; x=\"\"", "foo; x=a b", "foo; x=\"a b\"", "foo; x=@", "foo; x==1",
        "foo; a b", "foo; =10", "foo; x=",
    ])
    func extensionOfferParsingRejectsMalformedHeaders(_ header: String) {
        #expect(Self.parse([header]) == nil)
        #expect(Self.rejection(Self.request(adding: [("Sec-WebSocket-Extensions", header)]))?.status == .badRequest)
    }

    @Test(arguments: ["foo,,bar", "foo, ,bar", ", foo, bar", "foo, bar,"])
    func extensionOfferParsingIgnoresEmptyListElements(_ header: String) {
        // RFC 7230 §7: a recipient must accept (and ignore) empty elements of a #list.
        #expect(Self.parse([header]) == [Offer(name: "foo"), Offer(name: "bar")])
    }

    @Test
    func extensionOfferDescriptionIsTheHeaderFormAndParsesBack() {
        let offer = Offer(
            name: "permessage-deflate",
            parameters: [
                Parameter(name: "client_max_window_bits"), Parameter(name: "server_max_window_bits", value: "10"),
            ]
        )
        #expect(offer.description == "permessage-deflate; client_max_window_bits; server_max_window_bits=10")
        #expect(Self.parse([offer.description]) == [offer])
    }

    // MARK: §4.2.2 answering

    @Test
    func serverAcceptResponseIs101WithTheRFCAcceptValue() throws {
        guard let request = Self.accepted(Self.request()) else { return }
        let response = try WebSocketServerHandshake.acceptResponse(for: request)
        #expect(response.status == .switchingProtocols)
        #expect(response.version == .http1_1)
        #expect(response.headers["Upgrade"] == ["websocket"])
        #expect(response.headers["Connection"] == ["Upgrade"])
        #expect(response.headers["Sec-WebSocket-Accept"] == [Self.sampleAccept])
        #expect(response.headers["Sec-WebSocket-Protocol"] == [])
        #expect(response.headers["Sec-WebSocket-Extensions"] == [])
    }

    @Test
    func serverAcceptResponseCarriesSubprotocolExtensionsAndExtraHeaders() throws {
        let head = Self.request(adding: [("Sec-WebSocket-Protocol", "chat, superchat")])
        guard let request = Self.accepted(head) else { return }
        var extra = HTTPHeaders()
        extra.add(name: "Set-Cookie", value: "id=1")
        let response = try WebSocketServerHandshake.acceptResponse(
            for: request,
            subprotocol: "superchat",
            extensions: [
                Offer(name: "permessage-deflate", parameters: [Parameter(name: "server_no_context_takeover")])
            ],
            headers: extra
        )
        #expect(response.headers["Sec-WebSocket-Protocol"] == ["superchat"])
        #expect(response.headers["Sec-WebSocket-Extensions"] == ["permessage-deflate; server_no_context_takeover"])
        #expect(response.headers["Set-Cookie"] == ["id=1"])
    }

    @Test
    func serverAcceptResponseWithUnofferedSubprotocolThrowsInsteadOfStopping() {
        // RFC 6455 §4.1: a client fails the connection when the server names a subprotocol
        // it did not offer; building such a response is the application's mistake.
        let head = Self.request(adding: [("Sec-WebSocket-Protocol", "chat")])
        guard let request = Self.accepted(head) else { return }
        #expect(throws: WebSocketUsageError.self) {
            try WebSocketServerHandshake.acceptResponse(for: request, subprotocol: "superchat")
        }
        #expect(throws: WebSocketUsageError.self) {
            try WebSocketServerHandshake.acceptResponse(for: Self.accepted(Self.request())!, subprotocol: "chat")
        }
    }
}
