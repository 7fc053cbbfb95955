import NIOCore
import NIOHTTP1

/// A complete HTTP request, as a route handler sees it.
public struct HTTPRequest: Sendable {
    public var head: HTTPRequestHead
    /// The body, read whole (at most `HTTPServerConfiguration.maxBodySize` bytes).
    public var body: ByteBuffer
    /// The peer's address.
    public var remoteAddress: SocketAddress?

    public init(head: HTTPRequestHead, body: ByteBuffer = ByteBuffer(), remoteAddress: SocketAddress? = nil) {
        self.head = head
        self.body = body
        self.remoteAddress = remoteAddress
    }

    public var method: HTTPMethod { head.method }
    public var uri: String { head.uri }
    public var headers: HTTPHeaders { head.headers }

    /// The path, percent-decoded, without the query (`/a b` for `/a%20b?x=1`). Nil when
    /// the encoding is broken.
    public var path: String? { PercentDecoding.decodeString(RequestTarget(head.uri).path) }

    /// The raw query string after `?`, if any.
    public var query: Substring? { RequestTarget(head.uri).query }

    /// The first value of a query parameter, form-decoded (`+` is a space).
    public func queryParameter(_ name: String) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = PercentDecoding.decodeString(parts[0].replacingOccurrences(of: "+", with: " "))
            guard key == name else { continue }
            guard parts.count == 2 else { return "" }
            return PercentDecoding.decodeString(parts[1].replacingOccurrences(of: "+", with: " "))
        }
        return nil
    }

    /// The body as UTF-8 text.
    public var bodyText: String { String(buffer: body) }
}

/// The parts of a request target (RFC 9112 §3.2): origin form `/path?query`, or absolute
/// form `http://host/path?query`, whose authority is dropped.
struct RequestTarget {
    var path: Substring
    var query: Substring?

    init(_ uri: String) {
        var rest = Substring(uri)
        if !rest.hasPrefix("/"), let scheme = rest.range(of: "://") {
            rest = rest[scheme.upperBound...]
            rest = rest.firstIndex(of: "/").map { rest[$0...] } ?? "/"
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        if let mark = rest.firstIndex(of: "?") {
            path = rest[..<mark]
            query = rest[rest.index(after: mark)...]
        } else {
            path = rest
            query = nil
        }
    }
}

extension Substring {
    fileprivate func replacingOccurrences(of target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
