/// Where a Redis server is and how to log in, from a `redis://` or `rediss://` URL as the
/// IANA registrations of both schemes describe them:
///
/// ```
/// redis://[[username]:password@]host[:port][/database]
/// rediss://...          the same over TLS
/// ```
///
/// `redis://127.0.0.1`, `redis://:secret@cache:6380/2`, `rediss://app:secret@redis.example.com`.
/// The port defaults to 6379; the database to 0. Percent-escapes in the user and password
/// are decoded.
public struct RedisURL: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    public var usesTLS: Bool

    public init(
        host: String, port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0,
        usesTLS: Bool = false
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.usesTLS = usesTLS
    }

    /// Parses a URL; throws `RedisURLError` saying what is wrong.
    public init(_ text: String) throws(RedisURLError) {
        let rest: Substring
        if text.lowercased().hasPrefix("redis://") {
            usesTLS = false
            rest = text.dropFirst("redis://".count)
        } else if text.lowercased().hasPrefix("rediss://") {
            usesTLS = true
            rest = text.dropFirst("rediss://".count)
        } else {
            throw RedisURLError(text, "the scheme must be redis:// or rediss://")
        }
        var authority = rest
        var path: Substring = ""
        if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
            authority = rest[..<slash]
            path = rest[slash...]
        }
        username = nil
        password = nil
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : try Self.percentDecoded(user, in: text)
                password = try Self.percentDecoded(credentials[credentials.index(after: colon)...], in: text)
            } else if !credentials.isEmpty {
                // `redis://secret@host`: one credential is the password (as redis-cli reads it).
                password = try Self.percentDecoded(credentials, in: text)
            }
        }
        // Host: a name, an IPv4 address, or an IPv6 address in brackets.
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw RedisURLError(text, "unclosed [ in the host") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw RedisURLError(text, "unexpected text after the host")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
        }
        guard !host.isEmpty else { throw RedisURLError(text, "no host") }
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw RedisURLError(text, "the port must be a number from 1 to 65535")
            }
            port = value
        } else {
            port = 6379
        }
        database = 0
        let databaseText = path.drop(while: { $0 == "/" }).prefix(while: { $0 != "?" })
        if !databaseText.isEmpty {
            guard let value = Int(databaseText), value >= 0 else {
                throw RedisURLError(text, "the path must be a database number, such as /0")
            }
            database = value
        }
    }

    private static func percentDecoded(_ text: Substring, in url: String) throws(RedisURLError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw RedisURLError(url, "a broken %-escape in the credentials")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw RedisURLError(url, "the credentials are not UTF-8")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The URL without its password, for logs.
    public var description: String {
        let user = username ?? ""
        let credentials = password != nil ? "\(user):***@" : (username != nil ? "\(user)@" : "")
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(usesTLS ? "rediss" : "redis")://\(credentials)\(shownHost):\(port)/\(database)"
    }
}

/// A Redis URL that could not be read.
/// The message never repeats the URL, which may hold a password.
public struct RedisURLError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String

    init(_ url: String, _ reason: String) {
        self.reason = reason
    }

    public var description: String { "invalid Redis URL: \(reason)" }
}
