import CanalWebSocket
import NIOHTTP1
import Testing

@testable import CanalHTTP

@Suite struct CORSTests {
    @Test func anyOriginAnswersStar() {
        var headers = HTTPHeaders()
        HTTPCORSConfiguration().apply(to: &headers, requestHeaders: ["Origin": "https://a.example"])
        #expect(headers["Access-Control-Allow-Origin"] == ["*"])
        #expect(headers["Vary"].isEmpty)
    }

    @Test func allowListEchoesTheOriginWithVary() {
        let cors = HTTPCORSConfiguration(allowedOrigins: .only(["https://a.example"]), allowsCredentials: true)
        var headers = HTTPHeaders()
        cors.apply(to: &headers, requestHeaders: ["Origin": "https://a.example"])
        #expect(headers["Access-Control-Allow-Origin"] == ["https://a.example"])
        #expect(headers["Access-Control-Allow-Credentials"] == ["true"])
        #expect(headers["Vary"] == ["Origin"])
        var refused = HTTPHeaders()
        cors.apply(to: &refused, requestHeaders: ["Origin": "https://b.example"])
        #expect(refused.isEmpty)
    }

    @Test func preflightListsMethodsAndHeaders() {
        let cors = HTTPCORSConfiguration(
            allowedMethods: [.GET, .POST], allowedHeaders: ["Content-Type", "X-Token"], maxAge: 60)
        let headers = cors.preflightHeaders(requestHeaders: ["Origin": "https://a.example"])
        #expect(headers["Access-Control-Allow-Methods"] == ["GET, POST"])
        #expect(headers["Access-Control-Allow-Headers"] == ["Content-Type, X-Token"])
        #expect(headers["Access-Control-Max-Age"] == ["60"])
    }

    @Test func preflightIsRecognised() {
        let preflight = HTTPRequestHead(
            version: .http1_1,
            method: .OPTIONS,
            uri: "/api",
            headers: ["Origin": "https://a.example", "Access-Control-Request-Method": "POST"]
        )
        #expect(HTTPCORSConfiguration.isPreflight(preflight))
        #expect(!HTTPCORSConfiguration.isPreflight(HTTPRequestHead(version: .http1_1, method: .OPTIONS, uri: "/api")))
    }
}

@Suite struct WebSocketOriginPolicyTests {
    func request(origin: String?, host: String = "127.0.0.1:8080") throws -> WebSocketUpgradeRequest {
        var headers: HTTPHeaders = [
            "Host": host, "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        ]
        if let origin { headers.add(name: "Origin", value: origin) }
        return try WebSocketServerHandshake.validate(
            HTTPRequestHead(version: .http1_1, method: .GET, uri: "/ws", headers: headers)
        ).get()
    }

    @Test func sameHostAcceptsPagesOfThisServer() throws {
        let policy = WebSocketOriginPolicy.sameHost()
        #expect(policy.allows(try request(origin: "http://127.0.0.1:8080")))
        #expect(policy.allows(try request(origin: "https://127.0.0.1:8080")))
        #expect(!policy.allows(try request(origin: "http://127.0.0.1:9999")))
        #expect(!policy.allows(try request(origin: "http://evil.example")))
        #expect(!policy.allows(try request(origin: "null")))
        #expect(policy.allows(try request(origin: nil)))
        #expect(!WebSocketOriginPolicy.sameHost(allowsMissingOrigin: false).allows(try request(origin: nil)))
    }

    @Test func allowListComparesWithoutCase() throws {
        let policy = WebSocketOriginPolicy.only(["https://App.example"], allowsMissingOrigin: false)
        #expect(policy.allows(try request(origin: "https://app.example")))
        #expect(!policy.allows(try request(origin: "https://app.example.evil")))
        #expect(!policy.allows(try request(origin: nil)))
    }
}
