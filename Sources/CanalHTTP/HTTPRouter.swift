import CanalWebSocket
import NIOHTTP1

/// Answers one request. Runs in a task of its own; throwing answers 500 without detail.
public typealias HTTPHandler = @Sendable (HTTPRequest) async throws -> HTTPResponse

/// What a server answers, by path: route handlers, WebSocket endpoints and a folder of
/// static files, all on one port.
///
/// ```swift
/// var router = HTTPRouter()
/// router.get("/") { _ in .html("<h1>Welcome</h1>") }
/// router.webSocket("/echo", handler: .async { inbound, outbound, _ in
///     for try await message in inbound.messages { try await outbound.send(message) }
/// })
/// try router.serveFiles(from: "public")
/// ```
///
/// A request goes to the first of these that matches: a WebSocket route (only for
/// requests carrying `Upgrade: websocket`), an event stream (`eventStream`) or a handler
/// for its exact path, the static folder (GET and HEAD), and otherwise 404.
public struct HTTPRouter: Sendable {
    /// Handlers by decoded path, then by method name.
    var routes: [String: [String: HTTPHandler]] = [:]
    var webSocketRoutes: [String: WebSocketRoute] = [:]
    var eventStreamRoutes: [String: EventStreamRoute] = [:]
    var meters: [String: HTTPTrafficMeter] = [:]
    var staticFiles: StaticFiles?

    struct StaticFiles: Sendable {
        var lookup: StaticFileLookup
        var mountPath: String
        var configuration: StaticFilesConfiguration
    }

    public init() {}

    /// Answers `GET` (and so `HEAD`) requests for exactly `path`.
    public mutating func get(_ path: String, _ handler: @escaping HTTPHandler) {
        on(.GET, path, handler)
    }

    public mutating func post(_ path: String, _ handler: @escaping HTTPHandler) {
        on(.POST, path, handler)
    }

    public mutating func put(_ path: String, _ handler: @escaping HTTPHandler) {
        on(.PUT, path, handler)
    }

    public mutating func delete(_ path: String, _ handler: @escaping HTTPHandler) {
        on(.DELETE, path, handler)
    }

    /// Answers `method` requests for exactly `path` (decoded, without the query).
    /// Other methods on the same path get 405 with `Allow`.
    public mutating func on(_ method: HTTPMethod, _ path: String, _ handler: @escaping HTTPHandler) {
        routes[path, default: [:]][method.rawValue] = handler
    }

    /// Accepts WebSocket upgrades on exactly `path`.
    ///
    /// - Parameters:
    ///   - origins: which pages may connect; checked before `shouldUpgrade`, refused with 403.
    ///   - shouldUpgrade: the same hook as `WebSocketServer.bind`: pick a subprotocol, add
    ///     headers, or reject.
    public mutating func webSocket(
        _ path: String,
        origins: WebSocketOriginPolicy = .any,
        shouldUpgrade: @escaping @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision = { _ in .accept },
        handler: WebSocketServerHandler
    ) {
        webSocketRoutes[path] = WebSocketRoute(origins: origins, shouldUpgrade: shouldUpgrade, handler: handler)
    }

    /// Serves the files below `directory` for paths under `mountPath` (`express.static`).
    /// Throws when the folder does not exist.
    public mutating func serveFiles(
        from directory: String,
        at mountPath: String = "/",
        configuration: StaticFilesConfiguration = StaticFilesConfiguration()
    ) throws {
        var mount = mountPath.hasPrefix("/") ? mountPath : "/" + mountPath
        while mount.count > 1, mount.hasSuffix("/") { mount.removeLast() }
        staticFiles = StaticFiles(
            lookup: try StaticFileLookup(directory: directory), mountPath: mount, configuration: configuration)
    }
}

/// One WebSocket endpoint.
struct WebSocketRoute: Sendable {
    var origins: WebSocketOriginPolicy
    var shouldUpgrade: @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision
    var handler: WebSocketServerHandler

    /// The origin check first, then the application's hook (RFC 6455 §10.2).
    var decide: @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision {
        let origins = self.origins
        let shouldUpgrade = self.shouldUpgrade
        return { request in
            guard origins.allows(request) else {
                return .reject(WebSocketHandshakeRejection(status: .forbidden, body: "Origin not allowed"))
            }
            return shouldUpgrade(request)
        }
    }
}
