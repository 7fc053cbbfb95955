import CanalEngineIOCore
import Testing

@testable import CanalSocketIOClient

@Suite struct SocketIOClientURLTests {
    @Test func pathNamesNamespaceAndQueryGoesToEveryRequest() throws {
        let url = try SocketIOClientURL(parsing: "https://example.com:8443/admin/?token=a%20b")
        #expect(url.isSecure)
        #expect(url.namespace == "/admin")
        #expect(url.query == "token=a%20b")
        #expect(
            url.engineURL(path: "/socket.io/", transport: .polling, sessionID: "s+1", extraQuery: [("v", "1&2")])
                == "https://example.com:8443/socket.io/?EIO=4&transport=polling&sid=s%2B1&token=a%20b&v=1%262")
        #expect(
            url.engineURL(path: "/socket.io/", transport: .websocket, sessionID: nil, extraQuery: [])
                == "wss://example.com:8443/socket.io/?EIO=4&transport=websocket&token=a%20b")
    }

    @Test func bareHostIsHttpOnPort80WithMainNamespace() throws {
        let url = try SocketIOClientURL(parsing: "localhost")
        #expect(!url.isSecure)
        #expect(url.port == 80)
        #expect(url.namespace == "/")
        #expect(url.description == "http://localhost/")
    }

    @Test func unsupportedSchemeIsInvalidURL() {
        #expect(throws: SocketIOClientError.self) { try SocketIOClientURL(parsing: "ftp://host/") }
    }
}
