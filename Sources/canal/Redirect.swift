import CanalWebSocket
import Foundation

/// Following `-L`: which responses redirect, and where to.
enum Redirect {
    /// RFC 9110 §15.4: the redirections that carry a `Location`.
    static func isRedirect(_ code: UInt) -> Bool {
        [301, 302, 303, 307, 308].contains(code)
    }

    /// Resolves a `Location` value against the URL that answered with it (RFC 9110
    /// §10.2.2, RFC 3986 §5): absolute URLs as they are (http:// becomes ws://),
    /// `//host/path` with the same scheme, `/path` on the same host, `path` beside the
    /// current path.
    static func target(location: String, from base: WebSocketURL) -> String {
        let location = location.trimmingCharacters(in: .whitespaces)
        let scheme = base.isSecure ? "wss" : "ws"
        if location.contains("://") { return location }
        if location.hasPrefix("//") { return scheme + ":" + location }
        let origin = scheme + "://" + base.hostHeader
        if location.hasPrefix("/") { return origin + location }
        let path = base.requestTarget.prefix { $0 != "?" }
        let directory = path[...(path.lastIndex(of: "/") ?? path.startIndex)]
        return origin + directory + location
    }
}
