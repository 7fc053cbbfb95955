/// A `ws://` or `wss://` URL taken apart for connecting (RFC 6455 §3).
///
/// `http://` and `https://` are accepted as their WebSocket counterparts, as browsers do.
/// A URL with no scheme is taken as `ws://`, as wscat does.
extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

public struct WebSocketURL: Sendable, Hashable, CustomStringConvertible {
    public var isSecure: Bool
    /// The host without IPv6 brackets.
    public var host: String
    public var port: Int
    /// Path and query, starting with `/`. Never empty. Fragments are not allowed.
    public var requestTarget: String
    /// `user:password` from the URL, if any, for Basic authentication.
    public var userInfo: String?

    public init(isSecure: Bool, host: String, port: Int? = nil, requestTarget: String = "/") {
        self.isSecure = isSecure
        self.host = host
        self.port = port ?? (isSecure ? 443 : 80)
        self.requestTarget = requestTarget.isEmpty ? "/" : requestTarget
    }

    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// Parses `text`, or throws an error that says what is wrong with it.
    public init(parsing text: String) throws(ParseError) {
        // RFC 3986 §2: no spaces or control characters anywhere; they would also reach the
        // request line and the Host header as they are.
        if text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            throw ParseError(description: "spaces and control characters are not allowed in \"\(text)\"")
        }
        var rest = Substring(text)
        if let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://"), Self.isScheme(rest[..<colon]) {
            let scheme = rest[..<colon].lowercased()
            switch scheme {
            case "ws", "http": isSecure = false
            case "wss", "https": isSecure = true
            default: throw ParseError(description: "unsupported scheme \"\(scheme)\" (use ws:// or wss://)")
            }
            rest = rest[rest.index(colon, offsetBy: 3)...]
        } else {
            isSecure = false
        }
        if rest.contains("#") {
            // RFC 6455 §3: fragment identifiers are meaningless here and must not be used.
            throw ParseError(description: "WebSocket URLs cannot have a fragment (#)")
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let target = rest[authorityEnd...]
        requestTarget = target.isEmpty ? "/" : (target.first == "?" ? "/" + target : String(target))
        if let at = authority.lastIndex(of: "@") {
            userInfo = String(authority[..<at])
            authority = authority[authority.index(after: at)...]
        }
        var portText: Substring?
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else {
                throw ParseError(description: "unterminated IPv6 address in \"\(text)\"")
            }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.first == ":" { portText = after.dropFirst() } else if !after.isEmpty {
                throw ParseError(description: "unexpected characters after the IPv6 address in \"\(text)\"")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
        }
        guard !host.isEmpty else { throw ParseError(description: "no host in \"\(text)\"") }
        // RFC 3986 §3.2.2: an IPv6 address is written in brackets and a name has no colon
        // or bracket; anything else would print as a different URL.
        let isLiteral = authority.first == "["
        guard isLiteral ? host.allSatisfy({ $0.isHexDigit || ":.%".contains($0) }) : !host.contains(where: { ":[]".contains($0) })
        else {
            throw ParseError(description: "invalid host \"\(host)\" in \"\(text)\" (IPv6 addresses go in brackets)")
        }
        if let portText {
            guard portText.allSatisfy(\.isASCIIDigit), let value = Int(portText), (1...65535).contains(value) else {
                throw ParseError(description: "invalid port \"\(portText)\" in \"\(text)\"")
            }
            port = value
        } else {
            port = isSecure ? 443 : 80
        }
    }

    /// RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
    private static func isScheme(_ text: Substring) -> Bool {
        guard let first = text.first, first.isASCII, first.isLetter else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }
    }

    var isDefaultPort: Bool { port == (isSecure ? 443 : 80) }

    /// The `Host` header: the host, bracketed if IPv6, with the port unless it is the default.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return isDefaultPort ? name : "\(name):\(port)"
    }

    public var description: String {
        "\(isSecure ? "wss" : "ws")://\(hostHeader)\(requestTarget)"
    }
}
