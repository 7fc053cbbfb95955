import CanalEngineIOCore
import CanalWebSocketCore
import Foundation

/// A Socket.IO server URL taken apart, as socket.io-client reads it: `http://`, `https://`,
/// `ws://` or `wss://` (no scheme means `http://`), a host and port, and a path that names
/// the namespace (`http://host:3000/admin` is the namespace `/admin`); the query goes to
/// every Engine.IO request.
public struct SocketIOClientURL: Sendable, Hashable, CustomStringConvertible {
    public var isSecure: Bool
    public var host: String
    public var port: Int
    /// The namespace the URL's path names; `/` when it has none.
    public var namespace: String
    /// The URL's query, without `?`, as written.
    public var query: String
    /// `user:password` from the URL, sent as Basic authentication.
    public var userInfo: String?

    /// Parses `text`, or throws an `.invalidURL` error that says what is wrong.
    public init(parsing text: String) throws(SocketIOClientError) {
        if let range = text.range(of: "://"), let first = text.first, first.isASCII, first.isLetter,
            text[..<range.lowerBound].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        {
            let scheme = text[..<range.lowerBound].lowercased()
            guard ["http", "https", "ws", "wss"].contains(scheme) else {
                throw SocketIOClientError(
                    .invalidURL, "invalid URL \"\(text)\": unsupported scheme \"\(scheme)\" (use http://, https://, ws:// or wss://)")
            }
        }
        let parsed: WebSocketURL
        do {
            parsed = try WebSocketURL(parsing: text)
        } catch {
            throw SocketIOClientError(.invalidURL, "invalid URL \"\(text)\": \(error.description)")
        }
        isSecure = parsed.isSecure
        host = parsed.host
        port = parsed.port
        userInfo = parsed.userInfo
        let target = parsed.requestTarget
        let path: Substring
        if let mark = target.firstIndex(of: "?") {
            path = target[..<mark]
            query = String(target[target.index(after: mark)...])
        } else {
            path = Substring(target)
            query = ""
        }
        let trimmed = path.count > 1 && path.hasSuffix("/") ? path.dropLast() : path
        namespace = trimmed.isEmpty ? "/" : String(trimmed)
    }

    var authority: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (isSecure ? 443 : 80) ? name : "\(name):\(port)"
    }

    public var description: String {
        "\(isSecure ? "https" : "http")://\(authority)\(namespace == "/" ? "/" : namespace)"
    }

    /// The URL of an Engine.IO request: `http(s)://` for polling, `ws(s)://` for WebSocket,
    /// with `EIO=4`, the transport, the session id once known, and the extra query.
    func engineURL(
        path: String, transport: EngineTransport, sessionID: String?, extraQuery: [(String, String)]
    ) -> String {
        let scheme: String
        switch transport {
        case .polling: scheme = isSecure ? "https" : "http"
        case .websocket: scheme = isSecure ? "wss" : "ws"
        }
        var items = ["EIO=4", "transport=\(transport.rawValue)"]
        if let sessionID { items.append("sid=\(Self.escape(sessionID))") }
        if !query.isEmpty { items.append(query) }
        for (name, value) in extraQuery { items.append("\(Self.escape(name))=\(Self.escape(value))") }
        let normalized = (path.hasPrefix("/") ? "" : "/") + path
        return "\(scheme)://\(authority)\(normalized)?\(items.joined(separator: "&"))"
    }

    private static let queryAllowed: CharacterSet = {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+;")
        return allowed
    }()

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: queryAllowed) ?? text
    }
}
