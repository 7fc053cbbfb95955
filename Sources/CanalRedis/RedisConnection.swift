import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Canal's own Redis client: one TCP (or TLS) connection that pipelines commands, comes
/// back by itself after a loss, and gives every command a deadline. Pub/sub goes over a
/// second connection made on the first `subscribe`, as RESP2 requires.
///
/// ```swift
/// let redis = try await RedisConnection.connect(to: RedisConfiguration(url: "redis://127.0.0.1:6379/0"))
/// try await redis.set("greeting", ByteBuffer(string: "hello"), expiresIn: .seconds(60))
/// let id = try await redis.xadd("events", fields: [("type", ByteBuffer(string: "3"))], maxLength: 10_000)
/// ```
///
/// While the server is away, commands wait (up to `commandTimeout`, at most
/// `maxQueuedCommands` of them) and go out once it is back; commands already written when
/// the connection dropped fail with `.connectionLost`, since they may or may not have run.
///
/// Thread safety: every mutable member is used on `eventLoop` only (public entry points hop
/// there), which makes the unchecked `Sendable` conformance sound.
public final class RedisConnection: RedisClient, @unchecked Sendable {
    public let configuration: RedisConfiguration
    public let eventLoop: EventLoop
    let logger: Logger
    let role: Role
    private let sslContext: NIOSSLContext?

    enum Role {
        case commands
        /// In subscribe mode: only (un)subscribe commands, and pushes arrive at any time.
        case subscriber
    }

    enum Phase {
        case idle
        case connecting
        /// Connected; AUTH / SELECT / CLIENT SETNAME (and resubscriptions) in flight.
        case handshaking
        case ready
        case waitingToReconnect(Scheduled<Void>)
        case closed
    }

    struct Pending {
        let id: UInt64
        let bytes: ByteBuffer
        let expected: Int
        var replies: [RESPValue] = []
        let promise: EventLoopPromise<[RESPValue]>
        var timer: Scheduled<Void>?
    }

    var phase: Phase = .idle
    var channel: Channel?
    var queued = CircularBuffer<Pending>()
    var inFlight = CircularBuffer<Pending>()
    var nextID: UInt64 = 0
    var attempts = 0
    var flushScheduled = false
    var connectHandlers: [@Sendable () -> Void] = []
    var subscriptions: [RedisSubscriptionKind: [String: @Sendable (RedisPubSubMessage) -> Void]] = [:]
    var subscriber: RedisConnection?
    /// Why the last attempt failed, for the error queued commands get.
    var lastFailure: String?

    /// Starts connecting at once; commands sent meanwhile wait for the connection.
    public convenience init(
        configuration: RedisConfiguration,
        eventLoop: EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
        logger: Logger = Logger(label: "canal.redis")
    ) throws {
        try self.init(configuration: configuration, eventLoop: eventLoop, logger: logger, role: .commands)
    }

    init(configuration: RedisConfiguration, eventLoop: EventLoop, logger: Logger, role: Role) throws {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        self.role = role
        self.sslContext = try configuration.tls.map { try NIOSSLContext(configuration: $0) }
        eventLoop.execute { self.connect() }
    }

    /// Connects and checks the server answers (`PING`, after AUTH and SELECT), or throws
    /// why it does not. Use it at start-up to fail fast on a wrong URL or password.
    public static func connect(
        to configuration: RedisConfiguration,
        eventLoop: EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
        logger: Logger = Logger(label: "canal.redis")
    ) async throws -> RedisConnection {
        let connection = try RedisConnection(configuration: configuration, eventLoop: eventLoop, logger: logger)
        do {
            _ = try await connection.run(["PING"], timeout: configuration.connectTimeout + configuration.commandTimeout)
            return connection
        } catch {
            try? await connection.close().get()
            throw error
        }
    }

    public func duplicate() -> any RedisClient {
        // The configuration made an SSL context once already: it cannot fail now.
        try! RedisConnection(configuration: configuration, eventLoop: eventLoop, logger: logger, role: .commands)
    }

    public func onConnect(_ handler: @escaping @Sendable () -> Void) {
        onLoop { self.connectHandlers.append(handler) }
    }

    public func close() -> EventLoopFuture<Void> {
        let subscriber = eventLoop.submit { () -> RedisConnection? in
            self.shutDown()
            return self.subscriber
        }
        return subscriber.flatMap { subscriber in
            subscriber?.close() ?? self.eventLoop.makeSucceededVoidFuture()
        }
    }

    /// True once the handshake of the current connection finished. Read it on `eventLoop`.
    var isReady: Bool {
        if case .ready = phase { return true }
        return false
    }

    func onLoop(_ body: @escaping @Sendable () -> Void) {
        if eventLoop.inEventLoop { body() } else { eventLoop.execute(body) }
    }

    // MARK: Connecting

    private func connect() {
        eventLoop.assertInEventLoop()
        switch phase {
        case .idle, .waitingToReconnect: break
        case .connecting, .handshaking, .ready, .closed: return
        }
        phase = .connecting
        let url = configuration.url
        let sslContext = self.sslContext
        let limits = configuration.decoderLimits
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture(withResultOf: {
                    if let sslContext {
                        let isAddress = (try? SocketAddress(ipAddress: url.host, port: 0)) != nil
                        let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: isAddress ? nil : url.host)
                        try channel.pipeline.syncOperations.addHandler(tls)
                    }
                    try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(connection: self, limits: limits))
                })
            }
        logger.trace("= connecting to \(url)")
        bootstrap.connect(host: url.host, port: url.port).hop(to: eventLoop).whenComplete { result in
            switch result {
            case .success(let channel):
                guard case .connecting = self.phase else {
                    channel.close(promise: nil)
                    return
                }
                self.channel = channel
                self.handshake(on: channel)
            case .failure(let error):
                guard case .connecting = self.phase else { return }
                self.lastFailure = "could not connect to \(url.host):\(url.port): \(error)"
                self.scheduleReconnect()
            }
        }
    }

    /// AUTH, SELECT and CLIENT SETNAME go first, before anything queued.
    private func handshake(on channel: Channel) {
        phase = .handshaking
        var commands: [RedisCommand] = []
        if let password = configuration.url.password {
            var auth = RedisCommand("AUTH")
            if let username = configuration.url.username { auth.append(username) }
            auth.append(password)
            commands.append(auth)
        }
        if configuration.url.database != 0 { commands.append(["SELECT", String(configuration.url.database)]) }
        if let name = configuration.clientName { commands.append(["CLIENT", "SETNAME", name]) }
        commands.append(contentsOf: resubscriptions())
        guard !commands.isEmpty else {
            becomeReady()
            return
        }
        let expected = commands.reduce(0) { $0 + Self.replyCount(of: $1) }
        var bytes = ByteBuffer()
        for command in commands { RESPEncoder.encode(command, into: &bytes) }
        let promise = eventLoop.makePromise(of: [RESPValue].self)
        write(makePending(bytes: bytes, expected: expected, promise: promise, timeout: configuration.commandTimeout))
        promise.futureResult.whenComplete { result in
            guard self.channel === channel, case .handshaking = self.phase else { return }
            switch result {
            case .success(let replies):
                if let refusal = replies.first(where: { if case .error = $0 { return true } else { return false } }) {
                    // A wrong password or database: nothing queued can succeed; say why.
                    self.lastFailure = "the server refused the handshake: \(refusal)"
                    self.logger.error("! \(self.configuration.url): \(refusal)")
                    self.failQueued(RedisError(.server, "\(refusal)"))
                    channel.close(promise: nil)
                } else {
                    self.becomeReady()
                }
            case .failure:
                channel.close(promise: nil)
            }
        }
    }

    private func becomeReady() {
        phase = .ready
        if attempts > 0 { logger.info("= reconnected to \(configuration.url)") }
        attempts = 0
        lastFailure = nil
        while let pending = queued.popFirst() { write(pending) }
        for handler in connectHandlers { handler() }
    }

    private func scheduleReconnect() {
        if case .closed = phase { return }
        var generator = SystemRandomNumberGenerator()
        let delay = configuration.reconnect.delay(attempt: attempts, random: Double.random(in: 0...1, using: &generator))
        if attempts == 0 {
            logger.warning("! lost \(configuration.url)\(lastFailure.map { ": \($0)" } ?? ""); reconnecting")
        }
        attempts += 1
        phase = .waitingToReconnect(eventLoop.scheduleTask(in: delay) { self.connect() })
    }

    private func shutDown() {
        if case .waitingToReconnect(let task) = phase { task.cancel() }
        phase = .closed
        failQueued(RedisError(.closed, "closed"))
        failInFlight(RedisError(.closed, "closed"))
        channel?.close(promise: nil)
        channel = nil
    }

    // MARK: From the channel handler

    func closed(_ channel: Channel) {
        eventLoop.assertInEventLoop()
        guard channel === self.channel else { return }
        self.channel = nil
        failInFlight(RedisError(.connectionLost, lastFailure ?? "the connection to \(configuration.url) closed"))
        if case .closed = phase { return }
        phase = .idle
        scheduleReconnect()
    }

    func failed(_ error: RedisError, on channel: Channel) {
        eventLoop.assertInEventLoop()
        guard channel === self.channel else { return }
        lastFailure = error.message
        logger.debug("! \(configuration.url): \(error)")
    }
}
