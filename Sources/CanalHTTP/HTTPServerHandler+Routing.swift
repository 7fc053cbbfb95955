import CanalWebSocket
import NIOCore
import NIOHTTP1

extension HTTPServerHandler {
    func route(_ head: HTTPRequestHead) -> Target {
        let router = shared.router
        let target = RequestTarget(head.uri)
        let decodedPath = PercentDecoding.decodeString(target.path)
        if let decodedPath, WebSocketServerHandshake.isUpgradeRequest(head),
            let upgrader = shared.upgraders[decodedPath]
        {
            return .webSocket(upgrader)
        }
        if let decodedPath, let stream = router.eventStreamRoutes[decodedPath] {
            // GET only: a HEAD answer would need a length this response never has.
            if head.method == .GET { return .eventStream(stream) }
            if shared.configuration.cors != nil, HTTPCORSConfiguration.isPreflight(head) { return .preflight }
            var headers = HTTPHeaders()
            headers.add(name: "Allow", value: "GET, OPTIONS")
            return head.method == .OPTIONS ? .status(.noContent, headers) : .status(.methodNotAllowed, headers)
        }
        if let decodedPath, let handlers = router.routes[decodedPath] {
            if let handler = handlers[head.method.rawValue] { return .route(handler) }
            if head.method == .HEAD, let handler = handlers[HTTPMethod.GET.rawValue] { return .route(handler) }
            if shared.configuration.cors != nil, HTTPCORSConfiguration.isPreflight(head) { return .preflight }
            var allowed = Set(handlers.keys)
            if allowed.contains("GET") { allowed.insert("HEAD") }
            allowed.insert("OPTIONS")
            var headers = HTTPHeaders()
            headers.add(name: "Allow", value: allowed.sorted().joined(separator: ", "))
            return head.method == .OPTIONS ? .status(.noContent, headers) : .status(.methodNotAllowed, headers)
        }
        if let files = router.staticFiles {
            let mount = files.mountPath
            let path = target.path
            if mount == "/" || path == mount || path.hasPrefix(mount + "/") {
                guard head.method == .GET || head.method == .HEAD else {
                    var headers = HTTPHeaders()
                    headers.add(name: "Allow", value: "GET, HEAD")
                    return .status(.methodNotAllowed, headers)
                }
                let relative = mount == "/" ? path : path.dropFirst(mount.count)
                let parsed = StaticFilePath.parse(
                    relative.isEmpty ? "/" : relative,
                    allowsDotfiles: files.configuration.servesDotfiles
                )
                return .staticFile(parsed, files)
            }
        }
        return decodedPath == nil ? .status(.badRequest, HTTPHeaders()) : .status(.notFound, HTTPHeaders())
    }

    /// The traffic meter of the route at the request's path, if it has one.
    func meter(for head: HTTPRequestHead) -> HTTPTrafficMeter? {
        let meters = shared.router.meters
        guard !meters.isEmpty, let path = PercentDecoding.decodeString(RequestTarget(head.uri).path) else { return nil }
        return meters[path]
    }
}
