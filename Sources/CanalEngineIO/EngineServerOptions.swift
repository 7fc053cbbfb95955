import CanalEngineIOCore
import NIOCore
import NIOHTTP1

/// What an Engine.IO server knows of the request that opened a session.
public struct EngineHandshakeRequest: Sendable {
    public var head: HTTPRequestHead
    public var remoteAddress: SocketAddress?
    public var transport: EngineTransport

    public init(head: HTTPRequestHead, remoteAddress: SocketAddress?, transport: EngineTransport) {
        self.head = head
        self.remoteAddress = remoteAddress
        self.transport = transport
    }

    public var headers: HTTPHeaders { head.headers }
    public var uri: String { head.uri }

    /// A query parameter of the request, form-decoded.
    public func queryParameter(_ name: String) -> String? {
        EngineQuery(head.uri).value(name)
    }
}

/// The answer of an `allowRequest` hook.
public enum EngineAdmission: Sendable, Hashable {
    case allow
    /// Refuse with error 4 "Forbidden" (HTTP 403), or with this message instead.
    case deny(message: String? = nil)
}

/// The `io` cookie the official server can set on the handshake: the session id, for load
/// balancers that route by cookie.
public struct EngineCookie: Sendable, Hashable {
    public var name: String
    public var path: String
    public var httpOnly: Bool
    public var sameSite: String?

    public init(name: String = "io", path: String = "/", httpOnly: Bool = true, sameSite: String? = "Lax") {
        self.name = name
        self.path = path
        self.httpOnly = httpOnly
        self.sameSite = sameSite
    }

    func header(sessionID: String) -> String {
        var value = "\(name)=\(sessionID); Path=\(path)"
        if httpOnly { value += "; HttpOnly" }
        if let sameSite { value += "; SameSite=\(sameSite)" }
        return value
    }
}

/// The options of an `EngineServer`: the protocol's (`EngineConfiguration`) and the server's.
///
/// CORS is the HTTP server's business: set `HTTPServerConfiguration.cors`, and polling
/// requests and their preflights get the headers.
public struct EngineServerOptions: Sendable {
    public var engine: EngineConfiguration
    /// Where the server answers, with a trailing slash. Default `/socket.io/`.
    public var path: String
    /// Decides on every handshake (headers, remote address, query) before a session exists.
    public var allowRequest: (@Sendable (EngineHandshakeRequest) -> EngineAdmission)?
    /// Set the `io` cookie on the handshake; nil (the default, as the official server) sets none.
    public var cookie: EngineCookie?
    /// In a cluster behind a load balancer without sticky sessions: serves requests for
    /// sessions of other servers by relaying them to their owner. Nil (the default) for a
    /// single server, which then answers them "Session ID unknown".
    public var forwarder: (any EngineSessionForwarder)?

    public init(
        engine: EngineConfiguration = EngineConfiguration(),
        path: String = "/socket.io/",
        allowRequest: (@Sendable (EngineHandshakeRequest) -> EngineAdmission)? = nil,
        cookie: EngineCookie? = nil,
        forwarder: (any EngineSessionForwarder)? = nil
    ) {
        self.engine = engine
        self.path = path
        self.allowRequest = allowRequest
        self.cookie = cookie
        self.forwarder = forwarder
    }
}

/// The query string of a request target, form-decoded on demand.
struct EngineQuery {
    private let query: Substring

    init(_ uri: String) {
        if let mark = uri.firstIndex(of: "?") {
            let rest = uri[uri.index(after: mark)...]
            query = rest.firstIndex(of: "#").map { rest[..<$0] } ?? rest
        } else {
            query = ""
        }
    }

    func value(_ name: String) -> String? {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard Self.decode(parts[0]) == name else { continue }
            return parts.count == 2 ? Self.decode(parts[1]) : ""
        }
        return nil
    }

    /// `+` is a space, `%XX` a byte; nil for broken escapes or bytes that are not UTF-8.
    static func decode(_ text: Substring) -> String? {
        guard text.contains(where: { $0 == "%" || $0 == "+" }) else { return String(text) }
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = utf8.next().flatMap(hexValue), let low = utf8.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
