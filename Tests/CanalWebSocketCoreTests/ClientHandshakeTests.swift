import NIOCore
import NIOHTTP1
import Testing

@testable import CanalWebSocketCore

/// The opening handshake, client side: RFC 6455 §4.1.
@Suite("§4.1 client handshake")
struct ClientHandshakeTests {
    static let sampleKey = ServerHandshakeTests.sampleKey
    static let sampleAccept = ServerHandshakeTests.sampleAccept

    static func handshake(
        _ url: String = "ws://server.example.com/chat",
        protocols: [String] = [],
        offers: [WebSocketExtensionOffer] = []
    ) throws -> WebSocketClientHandshake {
        WebSocketClientHandshake(
            url: try WebSocketURL(parsing: url),
            key: sampleKey,
            protocols: protocols,
            extensionOffers: offers,
            origin: "http://example.com"
        )
    }

    /// A 101 response for the RFC's sample key, with `changes` applied: a nil value removes the header.
    static func response(
        status: HTTPResponseStatus = .switchingProtocols,
        _ changes: [(String, String?)] = [],
        adding extra: [(String, String)] = []
    ) -> HTTPResponseHead {
        var headers = HTTPHeaders([
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", sampleAccept),
        ])
        for (name, value) in changes {
            headers.remove(name: name)
            if let value { headers.add(name: name, value: value) }
        }
        headers.add(contentsOf: extra)
        return HTTPResponseHead(version: .http1_1, status: status, headers: headers)
    }

    static func failure(
        _ handshake: WebSocketClientHandshake,
        _ response: HTTPResponseHead,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> WebSocketHandshakeError? {
        switch handshake.validate(response) {
        case .success(let negotiated):
            Issue.record("accepted, negotiated \(negotiated)", sourceLocation: sourceLocation)
            return nil
        case .failure(let error):
            return error
        }
    }

    @Test
    func clientRequestHeadCarriesEveryRequiredHeader() throws {
        let handshake = try Self.handshake(
            "ws://server.example.com:9000/chat?x=1",
            protocols: ["chat", "superchat"],
            offers: [
                WebSocketExtensionOffer(
                    name: "permessage-deflate",
                    parameters: [.init(name: "client_max_window_bits")]
                )
            ]
        )
        let head = handshake.requestHead
        #expect(head.method == .GET)
        #expect(head.version == .http1_1)
        #expect(head.uri == "/chat?x=1")
        #expect(head.headers["Host"] == ["server.example.com:9000"])
        #expect(head.headers["Upgrade"] == ["websocket"])
        #expect(head.headers["Connection"] == ["Upgrade"])
        #expect(head.headers["Sec-WebSocket-Key"] == [Self.sampleKey])
        #expect(head.headers["Sec-WebSocket-Version"] == ["13"])
        #expect(head.headers["Sec-WebSocket-Protocol"] == ["chat, superchat"])
        #expect(head.headers["Sec-WebSocket-Extensions"] == ["permessage-deflate; client_max_window_bits"])
        #expect(head.headers["Origin"] == ["http://example.com"])
    }

    @Test(arguments: [
        ("ws://example.com/", "example.com"), ("wss://example.com:443/", "example.com"),
        ("ws://example.com:443/", "example.com:443"), ("ws://[::1]:9000/", "[::1]:9000"), ("wss://[::1]/", "[::1]"),
    ])
    func clientRequestHostHeaderOmitsTheDefaultPortAndBracketsIPv6(_ url: String, _ host: String) throws {
        #expect(try Self.handshake(url).requestHead.headers["Host"] == [host])
    }

    @Test
    func clientRequestUsesAHostHeaderGivenByTheApplication() throws {
        var extra = HTTPHeaders()
        extra.add(name: "Host", value: "virtual.example")
        let handshake = WebSocketClientHandshake(url: try WebSocketURL(parsing: "ws://10.0.0.1/"), headers: extra)
        #expect(handshake.requestHead.headers["Host"] == ["virtual.example"])
        #expect(WebSocketHandshake.isValidKey(handshake.key))
    }

    @Test
    func clientRequestPassesTheServersChecks() throws {
        let handshake = try Self.handshake(protocols: ["chat"])
        let validated = WebSocketServerHandshake.validate(handshake.requestHead)
        guard case .success(let request) = validated else {
            Issue.record("server rejected \(validated)")
            return
        }
        #expect(request.requestedProtocols == ["chat"])
    }

    @Test
    func clientAcceptsTheServersAnswerToItsOwnRequest() throws {
        let offer = WebSocketExtensionOffer(
            name: "permessage-deflate", parameters: [.init(name: "client_max_window_bits")])
        let handshake = WebSocketClientHandshake(
            url: try WebSocketURL(parsing: "ws://example.com/"),
            protocols: ["chat", "superchat"],
            extensionOffers: [offer]
        )
        guard case .success(let request) = WebSocketServerHandshake.validate(handshake.requestHead) else {
            Issue.record("server rejected the client's request")
            return
        }
        let accepted = WebSocketExtensionOffer(
            name: "permessage-deflate",
            parameters: [.init(name: "client_max_window_bits", value: "12")]
        )
        let response = try WebSocketServerHandshake.acceptResponse(
            for: request, subprotocol: "superchat", extensions: [accepted])
        let result = handshake.validate(response)
        #expect(result == .success(.init(subprotocol: "superchat", extensions: [accepted])))
    }

    @Test
    func clientAcceptsRFCSampleResponse() throws {
        let result = try Self.handshake().validate(Self.response())
        #expect(result == .success(.init(subprotocol: nil, extensions: [])))
    }

    @Test
    func clientAcceptsResponseTokensInAnyCase() throws {
        let response = Self.response([("Upgrade", "WebSocket"), ("Connection", "keep-alive, upgrade")])
        #expect(try Self.handshake().validate(response) == .success(.init(subprotocol: nil, extensions: [])))
    }

    @Test
    func clientAcceptsNoSubprotocolWhenItOfferedSome() throws {
        // RFC 6455 §4.1: the server may pick none of the offered subprotocols.
        let result = try Self.handshake(protocols: ["chat"]).validate(Self.response())
        #expect(result == .success(.init(subprotocol: nil, extensions: [])))
    }

    @Test(arguments: [
        HTTPResponseStatus.ok, .found, .badRequest, .unauthorized, .forbidden, .notFound, .upgradeRequired,
        .serviceUnavailable,
    ])
    func clientRejectsNon101ResponseAndExposesTheStatus(_ status: HTTPResponseStatus) throws {
        let error = Self.failure(try Self.handshake(), Self.response(status: status))
        #expect(error?.status == status)
        #expect(error?.description.contains(String(status.code)) == true)
    }

    @Test(
        arguments: [
            nil, "", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo", "S3PPLMBITXAQ9KYGZZHZRBK+XOO=", "dGhlIHNhbXBsZSBub25jZQ==",
        ] as [String?])
    func clientRejectsWrongOrMissingAccept(_ accept: String?) throws {
        let error = Self.failure(try Self.handshake(), Self.response([("Sec-WebSocket-Accept", accept)]))
        #expect(error?.status == .switchingProtocols)
    }

    @Test
    func clientRejectsTwoAcceptHeaders() throws {
        let response = Self.response(adding: [("Sec-WebSocket-Accept", Self.sampleAccept)])
        #expect(Self.failure(try Self.handshake(), response) != nil)
    }

    @Test(
        arguments: [("Upgrade", nil), ("Upgrade", "h2c"), ("Connection", nil), ("Connection", "keep-alive")]
            as [(String, String?)])
    func clientRejectsMissingOrWrongUpgradeHeaders(_ name: String, _ value: String?) throws {
        #expect(Self.failure(try Self.handshake(), Self.response([(name, value)])) != nil)
    }

    @Test(
        arguments: [
            (["chat"], "superchat"), ([], "chat"), (["chat", "superchat"], "chat, superchat"),
        ] as [([String], String)])
    func clientRejectsSubprotocolItDidNotOffer(_ offered: [String], _ selected: String) throws {
        let response = Self.response(adding: [("Sec-WebSocket-Protocol", selected)])
        #expect(Self.failure(try Self.handshake(protocols: offered), response) != nil)
    }

    @Test
    func clientAcceptsTheSubprotocolItOffered() throws {
        let response = Self.response(adding: [("Sec-WebSocket-Protocol", "superchat")])
        let result = try Self.handshake(protocols: ["chat", "superchat"]).validate(response)
        #expect(result == .success(.init(subprotocol: "superchat", extensions: [])))
    }

    @Test
    func clientRejectsExtensionItDidNotOffer() throws {
        let response = Self.response(adding: [("Sec-WebSocket-Extensions", "permessage-deflate")])
        #expect(Self.failure(try Self.handshake(), response) != nil)
        let offeredOther = try Self.handshake(offers: [WebSocketExtensionOffer(name: "x-other")])
        #expect(Self.failure(offeredOther, response) != nil)
    }

    @Test
    func clientRejectsMalformedExtensionHeader() throws {
        let response = Self.response(adding: [("Sec-WebSocket-Extensions", "permessage-deflate; x=\"")])
        let handshake = try Self.handshake(offers: [WebSocketExtensionOffer(name: "permessage-deflate")])
        #expect(Self.failure(handshake, response) != nil)
    }

    // MARK: §4.1 the key

    struct FixedGenerator: RandomNumberGenerator {
        var value: UInt64
        mutating func next() -> UInt64 {
            value &+= 0x9E37_79B9_7F4A_7C15
            return value
        }
    }

    @Test
    func clientKeyIsBase64OfSixteenBytesAndFresh() {
        var first = FixedGenerator(value: 1)
        var same = FixedGenerator(value: 1)
        let key = WebSocketHandshake.makeKey(using: &first)
        #expect(key == WebSocketHandshake.makeKey(using: &same))
        #expect(WebSocketHandshake.isValidKey(key))
        #expect(key.utf8.count == 24)
        let keys = Set((0..<16).map { _ in WebSocketHandshake.makeKey() })
        #expect(keys.count == 16)
        #expect(keys.allSatisfy(WebSocketHandshake.isValidKey))
    }
}
