import NIOHTTP1

/// Cross-origin resource sharing (Fetch standard, "CORS protocol") for route responses.
///
/// Use it when pages served from another origin call this server's routes with `fetch`.
/// Static files and WebSocket upgrades are not affected: WebSocket routes check `Origin`
/// themselves with `WebSocketOriginPolicy`.
public struct HTTPCORSConfiguration: Sendable, Equatable {
    /// Which origins may read responses.
    public enum AllowedOrigins: Sendable, Hashable {
        /// Any origin: answers `Access-Control-Allow-Origin: *` (never with credentials).
        case any
        /// Only these exact origins (`https://example.com`, `http://localhost:3000`); the
        /// matching one is echoed back with `Vary: Origin`.
        case only(Set<String>)
    }

    public var allowedOrigins: AllowedOrigins
    /// Methods allowed in preflighted requests.
    public var allowedMethods: [HTTPMethod]
    /// Request headers allowed in preflighted requests.
    public var allowedHeaders: [String]
    /// Response headers scripts may read besides the CORS-safelisted ones.
    public var exposedHeaders: [String]
    /// Send `Access-Control-Allow-Credentials: true` (requires `.only` origins).
    public var allowsCredentials: Bool
    /// How long browsers may cache a preflight answer, in seconds.
    public var maxAge: Int?

    public init(
        allowedOrigins: AllowedOrigins = .any,
        allowedMethods: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .DELETE],
        allowedHeaders: [String] = ["Content-Type"],
        exposedHeaders: [String] = [],
        allowsCredentials: Bool = false,
        maxAge: Int? = 600
    ) {
        self.allowedOrigins = allowedOrigins
        self.allowedMethods = allowedMethods
        self.allowedHeaders = allowedHeaders
        self.exposedHeaders = exposedHeaders
        self.allowsCredentials = allowsCredentials
        self.maxAge = maxAge
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, or nil when
    /// that origin is not allowed (the response then carries no CORS headers at all).
    func allowedOriginValue(for origin: String?) -> String? {
        switch allowedOrigins {
        case .any:
            return allowsCredentials ? origin : "*"
        case .only(let origins):
            guard let origin, origins.contains(origin) else { return nil }
            return origin
        }
    }

    /// Adds the headers of an actual (non-preflight) response.
    func apply(to headers: inout HTTPHeaders, requestHeaders: HTTPHeaders) {
        let origin = requestHeaders.first(name: "Origin")
        guard let value = allowedOriginValue(for: origin) else { return }
        headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: value)
        if value != "*" { headers.add(name: "Vary", value: "Origin") }
        if allowsCredentials { headers.replaceOrAdd(name: "Access-Control-Allow-Credentials", value: "true") }
        if !exposedHeaders.isEmpty {
            headers.replaceOrAdd(name: "Access-Control-Expose-Headers", value: exposedHeaders.joined(separator: ", "))
        }
    }

    /// True for a CORS preflight: OPTIONS with `Origin` and `Access-Control-Request-Method`.
    static func isPreflight(_ head: HTTPRequestHead) -> Bool {
        head.method == .OPTIONS && head.headers.contains(name: "Origin")
            && head.headers.contains(name: "Access-Control-Request-Method")
    }

    /// The answer to a preflight: 204 with the allowed methods and headers, or 204 without
    /// CORS headers for a refused origin (the browser then blocks the actual request).
    func preflightHeaders(requestHeaders: HTTPHeaders) -> HTTPHeaders {
        var headers = HTTPHeaders()
        apply(to: &headers, requestHeaders: requestHeaders)
        guard headers.contains(name: "Access-Control-Allow-Origin") else { return headers }
        headers.replaceOrAdd(
            name: "Access-Control-Allow-Methods",
            value: allowedMethods.map(\.rawValue).joined(separator: ", ")
        )
        if !allowedHeaders.isEmpty {
            headers.replaceOrAdd(name: "Access-Control-Allow-Headers", value: allowedHeaders.joined(separator: ", "))
        }
        if let maxAge { headers.replaceOrAdd(name: "Access-Control-Max-Age", value: String(maxAge)) }
        return headers
    }
}
