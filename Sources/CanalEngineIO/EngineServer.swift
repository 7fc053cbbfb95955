import CanalEngineIOCore
import CanalHTTP
import CanalWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An Engine.IO v4 server, as the official `engine.io` package is: sessions over HTTP
/// long-polling and WebSocket, with the upgrade between them, the heartbeat and the
/// official error answers. Messages in, messages out; Socket.IO runs on top of it.
///
/// ```swift
/// let engine = EngineServer()
/// engine.onConnection { socket in
///     socket.onMessage = { message in socket.send(message) }   // echo
/// }
/// var router = HTTPRouter()
/// engine.install(on: &router)            // answers under /socket.io/
/// let server = try await HTTPServer.bind(host: "127.0.0.1", port: 8080, router: router)
/// ```
public final class EngineServer: Sendable {
    public let options: EngineServerOptions
    private let group: any EventLoopGroup
    private let logger: Logger
    private let sessions = NIOLockedValueBox<[String: EngineSocket]>([:])
    private let connectionHandler = NIOLockedValueBox<(@Sendable (EngineSocket) -> Void)?>(nil)
    private let isShuttingDown = NIOLockedValueBox(false)

    public init(
        options: EngineServerOptions = EngineServerOptions(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "canal.engineio")
    ) {
        self.options = options
        self.group = eventLoopGroup
        self.logger = logger
    }

    /// Called on the session's event loop for every new session, before any of its
    /// messages: set the socket's `onMessage` and `onClose` there.
    public func onConnection(_ handler: @escaping @Sendable (EngineSocket) -> Void) {
        connectionHandler.withLockedValue { $0 = handler }
    }

    /// How many sessions are open.
    public var sessionCount: Int { sessions.withLockedValue { $0.count } }

    /// The session with this id, if it is open.
    public func session(id: String) -> EngineSocket? {
        sessions.withLockedValue { $0[id] }
    }

    /// Closes every session from the server: polling clients get what is still queued and
    /// an Engine.IO `close`, so clients do not come back on their own.
    public func closeAll() {
        for session in sessions.withLockedValue({ Array($0.values) }) { session.close() }
    }

    /// Stops serving, before the HTTP server's own shutdown: new sessions are refused with
    /// 503 and every session ends at once in a way that makes its client reconnect (a held
    /// GET gets 503, a WebSocket is closed with 1001), as when a server restarts or a node
    /// of a cluster leaves. Sessions end with `EngineCloseReason.serverShutdown`.
    public func shutdown() {
        isShuttingDown.withLockedValue { $0 = true }
        for session in sessions.withLockedValue({ Array($0.values) }) { session.abandon() }
    }

    /// The answer to requests that reach a server that is shutting down.
    struct Unavailable: Error {}

    /// Answers Engine.IO requests at `options.path` on this router: polling GET and POST,
    /// and WebSocket upgrades.
    public func install(on router: inout HTTPRouter) {
        let path = options.path
        router.get(path) { request in await self.handlePolling(request) }
        router.post(path) { request in await self.handlePolling(request) }
        router.webSocket(
            path,
            shouldUpgrade: { request in self.decideUpgrade(request) },
            handler: .eventLoopWithSocket { request, socket in self.webSocketOpened(request, socket) }
        )
    }

    func remove(_ session: EngineSocket) {
        _ = sessions.withLockedValue { $0.removeValue(forKey: session.id) }
    }

    // MARK: Polling

    private func classify(_ head: HTTPRequestHead, isUpgrade: Bool) -> Result<EngineRequest, EngineError> {
        let query = EngineQuery(head.uri)
        return EngineRequest.classify(
            method: head.method.rawValue,
            protocolVersion: query.value("EIO"),
            transport: query.value("transport"),
            sessionID: query.value("sid"),
            isWebSocketUpgrade: isUpgrade,
            configuration: options.engine,
            session: { id in self.session(id: id)?.facts.withLockedValue { $0 } }
        )
    }

    private func handlePolling(_ request: HTTPRequest) async -> HTTPResponse {
        if isShuttingDown.withLockedValue({ $0 }) { return Self.unavailableResponse() }
        if let forwarder = options.forwarder, let id = foreignSessionID(request.head) {
            return await forwarder.forward(
                request, sessionID: id, timeout: options.engine.pingInterval + options.engine.pingTimeout)
        }
        switch classify(request.head, isUpgrade: false) {
        case .failure(let error):
            return Self.errorResponse(error)
        case .success(.handshake(let transport)):
            let handshake = EngineHandshakeRequest(
                head: request.head, remoteAddress: request.remoteAddress, transport: transport)
            if let refusal = admit(handshake) { return Self.errorResponse(refusal) }
            let eventLoop = group.any()
            let session = makeSession(handshake, eventLoop: eventLoop)
            let open = try? await eventLoop.submit { () -> EnginePacket in
                let open = session.start()
                self.connectionHandler.withLockedValue { $0 }?(session)
                return open
            }.get()
            var response = Self.pollingResponse([open ?? .close])
            if let cookie = options.cookie {
                response.headers.add(name: "Set-Cookie", value: cookie.header(sessionID: session.id))
            }
            return response
        case .success(.poll(let id)):
            guard let session = session(id: id) else { return Self.errorResponse(EngineError(.sessionIDUnknown)) }
            do {
                // `t`: engine.io-client's per-request token (its `timestampParam`), which a
                // proxy's retry of the same GET carries again.
                let requestID = EngineQuery(request.head.uri).value("t")
                return Self.pollingResponse(try await session.poll(requestID: requestID).get())
            } catch is Unavailable {
                return Self.unavailableResponse()
            } catch {
                return HTTPResponse(status: .badRequest, headers: Self.pollingHeaders(type: "text/html"))
            }
        case .success(.post(let id)):
            guard let session = session(id: id) else { return Self.errorResponse(EngineError(.sessionIDUnknown)) }
            guard request.body.readableBytes <= options.engine.maxHttpBufferSize else {
                session.close()
                return HTTPResponse(status: .payloadTooLarge, headers: Self.pollingHeaders(type: "text/html"))
            }
            try? await session.post(request.body).get()
            return HTTPResponse(
                status: .ok, headers: Self.pollingHeaders(type: "text/html"), body: ByteBuffer(string: "ok"))
        case .success(.unsupportedMethod):
            return HTTPResponse(status: .internalServerError)
        case .success(.upgrade):
            return Self.errorResponse(EngineError(.badRequest))
        }
    }

    private func admit(_ request: EngineHandshakeRequest) -> EngineError? {
        guard let allowRequest = options.allowRequest else { return nil }
        switch allowRequest(request) {
        case .allow: return nil
        case .deny(let message): return EngineError(.forbidden, message: message)
        }
    }

    private func makeSession(_ request: EngineHandshakeRequest, eventLoop: EventLoop) -> EngineSocket {
        let session = EngineSocket(
            id: options.forwarder?.makeSessionID() ?? Self.makeSessionID(),
            eventLoop: eventLoop,
            request: request,
            configuration: options.engine,
            server: self,
            logger: logger
        )
        sessions.withLockedValue { $0[session.id] = session }
        logger.debug("= \(session.id) opened over \(request.transport.rawValue)")
        return session
    }

    static func pollingHeaders(type: String) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Cache-Control", value: "no-store")
        return headers
    }

    static func pollingResponse(_ packets: [EnginePacket]) -> HTTPResponse {
        HTTPResponse(
            status: .ok,
            headers: pollingHeaders(type: "text/plain; charset=UTF-8"),
            body: EnginePayload.encode(packets)
        )
    }

    /// 503 while shutting down: clients treat it as a transport error and reconnect.
    static func unavailableResponse() -> HTTPResponse {
        var headers = pollingHeaders(type: "text/plain; charset=UTF-8")
        headers.add(name: "Retry-After", value: "1")
        return HTTPResponse(
            status: .serviceUnavailable, headers: headers, body: ByteBuffer(string: "Server shutting down"))
    }

    static func errorResponse(_ error: EngineError) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        return HTTPResponse(
            status: HTTPResponseStatus(statusCode: error.httpStatus), headers: headers, body: ByteBuffer(string: error.json))
    }

    /// 20 random characters of URL-safe base64, as long as the official ids: the ids of a
    /// server without a forwarder, and the random part of a forwarder's.
    public static func makeSessionID() -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var bytes = [UInt8](repeating: 0, count: 20)
        for index in bytes.indices { bytes[index] = alphabet[Int(generator.next() & 63)] }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: WebSocket

    private func decideUpgrade(_ request: WebSocketUpgradeRequest) -> WebSocketUpgradeDecision {
        if isShuttingDown.withLockedValue({ $0 }) {
            return .reject(WebSocketHandshakeRejection(status: .serviceUnavailable, body: "Server shutting down"))
        }
        // Another server's session: accepted here and relayed (`webSocketOpened`).
        if foreignSessionID(request.head) != nil { return .accept }
        let refusal: EngineError
        switch classify(request.head, isUpgrade: true) {
        case .failure(let error):
            refusal = error
        case .success(.handshake(let transport)):
            let handshake = EngineHandshakeRequest(
                head: request.head, remoteAddress: request.remoteAddress, transport: transport)
            guard let error = admit(handshake) else { return .accept }
            refusal = error
        case .success(.upgrade):
            return .accept
        case .success:
            refusal = EngineError(.badRequest)
        }
        // As the official server answers refused upgrades: 400 and the message as text.
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/html")
        return .reject(WebSocketHandshakeRejection(status: .badRequest, headers: headers, body: refusal.message))
    }

    private func webSocketOpened(
        _ request: WebSocketUpgradeRequest, _ socket: WebSocketLoopSocket
    ) -> WebSocketChannelHandler.EventCallback {
        // The upgrader calls this on the connection's event loop.
        let eventLoop = MultiThreadedEventLoopGroup.currentEventLoop ?? group.next()
        let loopSocket = LoopSocket(socket, eventLoop: eventLoop)
        let query = EngineQuery(request.uri)
        if let id = query.value("sid") {
            guard let session = session(id: id) else {
                if let forwarder = options.forwarder, foreignSessionID(request.head) != nil {
                    return forwarder.bridge(request, sessionID: id, socket: socket)
                }
                eventLoop.execute { loopSocket.close() }
                return { _, _ in }
            }
            session.eventLoop.execute { session.attachProbe(loopSocket) }
            return { event, _ in
                if session.eventLoop.inEventLoop {
                    session.upgradeConnectionEvent(event)
                } else {
                    session.eventLoop.execute { session.upgradeConnectionEvent(event) }
                }
            }
        }
        let handshake = EngineHandshakeRequest(head: request.head, remoteAddress: request.remoteAddress, transport: .websocket)
        let session = makeSession(handshake, eventLoop: eventLoop)
        eventLoop.execute {
            session.attachWebSocket(loopSocket)
            self.connectionHandler.withLockedValue { $0 }?(session)
        }
        return { event, _ in session.webSocketEvent(event) }
    }
}
