import Testing

@testable import CanalWebSocketCore

/// WebSocket URIs: RFC 6455 §3.
@Suite("§3 WebSocket URLs")
struct WebSocketURLTests {
    struct Fixture: Sendable, CustomTestStringConvertible {
        var text: String
        var isSecure: Bool
        var host: String
        var port: Int
        var target: String
        var hostHeader: String
        var userInfo: String? = nil
        var testDescription: String { text }
    }

    /// A fixture: `text` parses into this scheme ("ws" or "wss"), host, port, request target and Host header.
    static func url(
        _ text: String,
        _ scheme: String,
        _ host: String,
        _ port: Int,
        _ target: String,
        _ hostHeader: String,
        userInfo: String? = nil
    ) -> Fixture {
        Fixture(
            text: text,
            isSecure: scheme == "wss",
            host: host,
            port: port,
            target: target,
            hostHeader: hostHeader,
            userInfo: userInfo
        )
    }

    static let fixtures: [Fixture] = [
        url("ws://example.com", "ws", "example.com", 80, "/", "example.com"),
        url("wss://example.com", "wss", "example.com", 443, "/", "example.com"),
        url("ws://example.com/chat", "ws", "example.com", 80, "/chat", "example.com"),
        url("http://example.com/chat", "ws", "example.com", 80, "/chat", "example.com"),
        url("https://example.com:8443/a/b?c=d&e", "wss", "example.com", 8443, "/a/b?c=d&e", "example.com:8443"),
        url("WSS://Example.COM/", "wss", "Example.COM", 443, "/", "Example.COM"),
        // No scheme: ws://, as wscat does.
        url("example.com:8080/path", "ws", "example.com", 8080, "/path", "example.com:8080"),
        url("localhost", "ws", "localhost", 80, "/", "localhost"),
        url("127.0.0.1:9001", "ws", "127.0.0.1", 9001, "/", "127.0.0.1:9001"),
        // IPv6 literals lose their brackets in `host` and get them back in the Host header.
        url("ws://[::1]:9000/x", "ws", "::1", 9000, "/x", "[::1]:9000"),
        url("[::1]:9000", "ws", "::1", 9000, "/", "[::1]:9000"),
        url("ws://[::1]", "ws", "::1", 80, "/", "[::1]"),
        url("wss://[2001:db8::1]:443/", "wss", "2001:db8::1", 443, "/", "[2001:db8::1]"),
        // A query without a path still gets the "/" a request target needs.
        url("ws://example.com?a=b", "ws", "example.com", 80, "/?a=b", "example.com"),
        url("ws://example.com/?a=b", "ws", "example.com", 80, "/?a=b", "example.com"),
        // Only the scheme's own default port is left out of the Host header.
        url("ws://example.com:80", "ws", "example.com", 80, "/", "example.com"),
        url("ws://example.com:443", "ws", "example.com", 443, "/", "example.com:443"),
        url("wss://example.com:80", "wss", "example.com", 80, "/", "example.com:80"),
        url("ws://example.com:65535/", "ws", "example.com", 65535, "/", "example.com:65535"),
        url(
            "ws://user:pa%40ss@example.com:9000/chat",
            "ws",
            "example.com",
            9000,
            "/chat",
            "example.com:9000",
            userInfo: "user:pa%40ss"
        ),
        url("wss://token@[::1]/", "wss", "::1", 443, "/", "[::1]", userInfo: "token"),
        url("ws://example.com/path@x", "ws", "example.com", 80, "/path@x", "example.com"),
        url("ws://example.com/a:b", "ws", "example.com", 80, "/a:b", "example.com"),
        // No scheme, but "://" further on, in the query: still ws:// to example.com.
        url(
            "example.com/?next=http://other.example", "ws", "example.com", 80, "/?next=http://other.example",
            "example.com"),
    ]

    @Test(arguments: fixtures)
    func urlParsesIntoItsParts(_ fixture: Fixture) throws {
        let url = try WebSocketURL(parsing: fixture.text)
        #expect(url.isSecure == fixture.isSecure)
        #expect(url.host == fixture.host)
        #expect(url.port == fixture.port)
        #expect(url.requestTarget == fixture.target)
        #expect(url.hostHeader == fixture.hostHeader)
        #expect(url.userInfo == fixture.userInfo)
        #expect(url.description == "\(fixture.isSecure ? "wss" : "ws")://\(fixture.hostHeader)\(fixture.target)")
    }

    @Test(arguments: fixtures)
    func urlDescriptionParsesBackToTheSameURL(_ fixture: Fixture) throws {
        var url = try WebSocketURL(parsing: fixture.text)
        url.userInfo = nil
        #expect(try WebSocketURL(parsing: url.description) == url)
    }

    @Test(arguments: [
        "ws://example.com/#frag", "ws://example.com#x", "ws://example.com/chat?a=b#c",  // §3: no fragments
        "ftp://example.com", "file:///tmp/x", "wss+unix://x",  // other schemes
        "", "ws://", "ws:///path", "ws://:80", "ws://?a=b", "ws://user@",  // no host
        "ws://example.com:0", "ws://example.com:65536", "ws://example.com:99999999999999999999",
        "ws://example.com:abc", "ws://example.com:", "ws://example.com:-1", "ws://example.com:+80",
        "ws://example.com: 80",  // bad ports
        "ws://[::1", "ws://[::1]x", "ws://[::1]:", "ws://[]:80",  // bad IPv6 literals
        // Found by FuzzClientHandshake: a colon or bracket in a host outside brackets, and
        // control characters, parsed into a URL that printed as another one.
        "wss://22001:db8:\u{0}\u{0}:1]:443/", "ws://::1:80/", "ws://a]b/", "ws://[a::g]/",
        "ws://example.com/a b", "ws://exa\u{0}mple.com/", "ws://example.com/\r\nX-Injected: 1",
    ])
    func urlRejectsInvalidText(_ text: String) {
        #expect(throws: WebSocketURL.ParseError.self) { try WebSocketURL(parsing: text) }
    }

    @Test
    func urlErrorSaysWhatIsWrong() {
        #expect {
            try WebSocketURL(parsing: "ws://example.com/#top")
        } throws: { error in
            (error as? WebSocketURL.ParseError)?.description.contains("fragment") == true
        }
        #expect {
            try WebSocketURL(parsing: "gopher://example.com")
        } throws: { error in
            (error as? WebSocketURL.ParseError)?.description.contains("gopher") == true
        }
    }

    @Test
    func urlMemberwiseInitDefaultsPortAndTarget() {
        let plain = WebSocketURL(isSecure: false, host: "example.com")
        #expect(plain.port == 80)
        #expect(plain.requestTarget == "/")
        #expect(plain.userInfo == nil)
        let secure = WebSocketURL(isSecure: true, host: "::1", requestTarget: "")
        #expect(secure.port == 443)
        #expect(secure.requestTarget == "/")
        #expect(secure.description == "wss://[::1]/")
        let custom = WebSocketURL(isSecure: true, host: "example.com", port: 8443, requestTarget: "/x?y")
        #expect(custom.hostHeader == "example.com:8443")
        #expect(custom.description == "wss://example.com:8443/x?y")
    }
}
