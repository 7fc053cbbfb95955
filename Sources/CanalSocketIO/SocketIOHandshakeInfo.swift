import CanalEngineIO
import CanalSocketIOCore
import Foundation
import NIOCore

/// What a socket's client sent when it connected: the HTTP request of its Engine.IO
/// session and the auth payload of its CONNECT.
public struct SocketIOHandshakeInfo: Sendable, Hashable {
    /// Request headers, names in lower case (several values joined with ", ").
    public var headers: [String: String]
    /// The request's query parameters.
    public var query: [String: String]
    /// The CONNECT packet's payload (`auth` on the client), without recovery fields.
    public var auth: SocketIOValue
    /// The peer's IP address.
    public var address: String
    /// The request target of the handshake.
    public var url: String
    /// When the socket connected, in milliseconds since 1970.
    public var issued: Int64

    public init(
        headers: [String: String] = [:], query: [String: String] = [:], auth: SocketIOValue = .null,
        address: String = "", url: String = "", issued: Int64 = 0
    ) {
        self.headers = headers
        self.query = query
        self.auth = auth
        self.address = address
        self.url = url
        self.issued = issued
    }

    init(engine: EngineHandshakeRequest, auth: SocketIOValue) {
        var headers: [String: String] = [:]
        for (name, value) in engine.headers {
            let key = name.lowercased()
            headers[key] = headers[key].map { $0 + ", " + value } ?? value
        }
        var query: [String: String] = [:]
        if let mark = engine.uri.firstIndex(of: "?") {
            for pair in engine.uri[engine.uri.index(after: mark)...].split(separator: "&") {
                let name = String(pair.split(separator: "=", maxSplits: 1).first ?? "")
                if let value = engine.queryParameter(name) { query[name] = value }
            }
        }
        self.init(
            headers: headers,
            query: query,
            auth: auth,
            address: engine.remoteAddress?.ipAddress ?? "",
            url: engine.uri,
            issued: Int64(Date().timeIntervalSince1970 * 1000)
        )
    }
}
