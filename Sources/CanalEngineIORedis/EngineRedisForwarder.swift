import AsyncHTTPClient
import CanalEngineIO
import CanalHTTP
import CanalRedis
import CanalWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Lets several Engine.IO (and Socket.IO) servers sit behind a load balancer without sticky
/// sessions: a request for a session of another server is relayed to that server.
///
/// How it finds the owner, with no look-up per request on the owner's side:
/// - every session id starts with this server's node id: `<node id>.<20 random characters>`;
/// - each server writes the address other servers reach it at to Redis,
///   `<keyPrefix><node id>`, renewed every `heartbeatInterval` and expiring after
///   `addressExpiry` (a killed server's address goes away on its own);
/// - a server that gets a request for a foreign id reads the owner's address once (then
///   remembers it) and relays: polling GET and POST over HTTP (async-http-client, pooled
///   connections), a WebSocket as a bridge of two connections (`EngineWebSocketBridge`).
///
/// An owner that is gone (no address) gets the client the official 400 "Session ID
/// unknown"; one that does not answer gets 502. Both make a client reconnect, and
/// connection state recovery then restores its session on a live server.
///
/// ```swift
/// let forwarder = EngineRedisForwarder(redis: redis)
/// var options = SocketIOServerOptions()
/// options.engine.forwarder = forwarder
/// // ... bind the HTTP server, then say where the others reach this one:
/// try await forwarder.advertise("http://10.0.0.5:3000").get()
/// ```
public final class EngineRedisForwarder: EngineSessionForwarder {
    /// This server's node id: 12 letters and digits, the prefix of its session ids.
    public let nodeID: String
    public let options: EngineForwardingOptions
    let redis: any RedisClient
    let http: HTTPClient
    let group: any EventLoopGroup
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    struct State {
        var address: String?
        var heartbeat: RepeatedTask?
        var owners: [String: String] = [:]
        var closed = false
    }

    /// The character between the node id and the random part of a session id: never in
    /// the random part, and left alone by URL encoders.
    static let separator: Character = "."
    static let nodeIDLength = 12

    public init(
        redis: any RedisClient,
        options: EngineForwardingOptions = EngineForwardingOptions(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "canal.engineio.forwarder")
    ) {
        self.nodeID = String(EngineServer.makeSessionID().map { $0 == "-" || $0 == "_" ? "x" : $0 }.prefix(Self.nodeIDLength))
        self.options = options
        self.redis = redis
        self.group = eventLoopGroup
        self.logger = logger
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: options.connectTimeout),
            connectionPool: .init(
                idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: options.maxConnectionsPerOwner))
        configuration.httpVersion = .http1Only
        configuration.redirectConfiguration = .disallow
        self.http = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
    }

    /// Says where other servers reach this one (`http://host:port`, no path) and keeps
    /// saying it every `heartbeatInterval`. Call it once the HTTP server listens; the future
    /// fails when Redis does not take the first write.
    @discardableResult
    public func advertise(_ address: String) -> EventLoopFuture<Void> {
        let address = address.hasSuffix("/") ? String(address.dropLast()) : address
        let eventLoop = group.any()
        let task = eventLoop.scheduleRepeatedTask(
            initialDelay: options.heartbeatInterval, delay: options.heartbeatInterval
        ) { _ in
            self.writeAddress(address).whenFailure { error in
                self.logger.warning("! cannot renew this server's address in Redis: \(error)")
            }
        }
        state.withLockedValue { state in
            state.heartbeat?.cancel()
            state.heartbeat = task
            state.address = address
        }
        return writeAddress(address)
    }

    private func writeAddress(_ address: String) -> EventLoopFuture<Void> {
        redis.set(key(nodeID), ByteBuffer(string: address), expiresIn: options.addressExpiry)
    }

    /// Stops renewing the address, removes it (requests for this server's sessions then get
    /// "Session ID unknown" at once) and closes the HTTP client.
    public func close() async {
        let heartbeat = state.withLockedValue { state -> RepeatedTask? in
            state.closed = true
            defer { state.heartbeat = nil }
            return state.heartbeat
        }
        heartbeat?.cancel()
        _ = try? await redis.delete([key(nodeID)]).get()
        try? await http.shutdown()
    }

    func key(_ node: String) -> String { options.keyPrefix + node }

    // MARK: EngineSessionForwarder

    public func makeSessionID() -> String {
        nodeID + String(Self.separator) + EngineServer.makeSessionID()
    }

    public func isForeign(_ sessionID: String) -> Bool {
        guard let owner = Self.owner(of: sessionID) else { return false }
        return owner != nodeID
    }

    /// The node id a session id starts with, if it has the forwarder's form.
    static func owner(of sessionID: String) -> String? {
        guard let dot = sessionID.firstIndex(of: separator),
            sessionID.distance(from: sessionID.startIndex, to: dot) == nodeIDLength
        else { return nil }
        let owner = sessionID[..<dot]
        guard owner.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return nil }
        return String(owner)
    }

    public func forward(_ request: HTTPRequest, sessionID: String, timeout: TimeAmount) async -> HTTPResponse {
        guard let owner = Self.owner(of: sessionID), let base = await address(of: owner) else {
            return Self.sessionUnknown()
        }
        var outbound = HTTPClientRequest(url: base + request.uri)
        outbound.method = request.method
        outbound.headers = Self.relayable(request.headers)
        outbound.headers.add(name: EngineServer.forwardedHeader, value: nodeID)
        if let client = request.remoteAddress?.ipAddress {
            outbound.headers.add(name: "X-Forwarded-For", value: client)
        }
        if request.body.readableBytes > 0 { outbound.body = .bytes(request.body) }
        do {
            let response = try await http.execute(outbound, timeout: timeout + options.connectTimeout, logger: nil)
            let body = try await response.body.collect(upTo: options.maxResponseBytes)
            return HTTPResponse(status: response.status, headers: Self.relayable(response.headers), body: body)
        } catch {
            logger.debug("! relaying \(request.method) for \(sessionID) to \(base): \(error)")
            forget(owner)
            return Self.ownerUnreachable()
        }
    }

    // MARK: The directory

    /// The owner's base URL: remembered, or read from Redis (nil when it has none, or
    /// Redis does not answer within `connectTimeout`).
    func address(of owner: String) async -> String? {
        if let known = state.withLockedValue({ $0.owners[owner] }) { return known }
        let reply = try? await redis.send(["GET", key(owner)], timeout: options.connectTimeout).get()
        guard let bytes = reply?.bytes else { return nil }
        let address = String(buffer: bytes)
        state.withLockedValue { state in
            if state.owners.count >= options.maxCachedOwners { state.owners.removeAll() }
            state.owners[owner] = address
        }
        return address
    }

    /// Forgets an owner that did not answer: the next request reads Redis again.
    func forget(_ owner: String) {
        _ = state.withLockedValue { $0.owners.removeValue(forKey: owner) }
    }

    // MARK: Answers

    /// Headers that belong to one hop (RFC 9110 §7.6.1) or that the relaying server sets.
    static let hopHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "host", "content-length",
    ]

    static func relayable(_ headers: HTTPHeaders) -> HTTPHeaders {
        var kept = HTTPHeaders()
        for (name, value) in headers where !hopHeaders.contains(name.lowercased()) {
            kept.add(name: name, value: value)
        }
        return kept
    }

    /// The official answer to an unknown session (engine.io error code 1).
    static func sessionUnknown() -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        return HTTPResponse(
            status: .badRequest, headers: headers, body: ByteBuffer(string: #"{"code":1,"message":"Session ID unknown"}"#))
    }

    static func ownerUnreachable() -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=UTF-8")
        headers.add(name: "Cache-Control", value: "no-store")
        return HTTPResponse(status: .badGateway, headers: headers, body: ByteBuffer(string: "Session owner unreachable"))
    }
}
