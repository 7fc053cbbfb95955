import CanalWebSocket

/// Which web pages may open a WebSocket (RFC 6455 §10.2).
///
/// Browsers always send `Origin`, and a page from any site can try to connect with the
/// user's cookies; checking `Origin` is what stops it. Clients outside browsers usually
/// send no `Origin`, and `allowsMissingOrigin` decides about them.
public enum WebSocketOriginPolicy: Sendable, Hashable {
    /// Every origin, and none.
    case any
    /// Pages served by this same host: the origin's `host[:port]` equals the `Host`
    /// header. The right choice when the pages and the endpoint share a server.
    case sameHost(allowsMissingOrigin: Bool = true)
    /// Only these exact origins (`https://example.com`), compared case-insensitively.
    case only(Set<String>, allowsMissingOrigin: Bool = true)

    func allows(_ request: WebSocketUpgradeRequest) -> Bool {
        switch self {
        case .any:
            return true
        case .sameHost(let allowsMissing):
            guard let origin = request.origin else { return allowsMissing }
            guard let host = request.headers.first(name: "Host"),
                let schemeEnd = origin.range(of: "://")
            else { return false }
            return origin[schemeEnd.upperBound...].lowercased() == host.lowercased()
        case .only(let origins, let allowsMissing):
            guard let origin = request.origin else { return allowsMissing }
            let lowered = origin.lowercased()
            return origins.contains { $0.lowercased() == lowered }
        }
    }
}
