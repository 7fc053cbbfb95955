import AsyncHTTPClient
import Foundation
import CanalEngineIOCore
import CanalSocketIOCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One Engine.IO connection to a Socket.IO server, shared by the sockets of every namespace
/// on it, and its reconnection (socket.io-client's `Manager`).
///
/// ```swift
/// let manager = try SocketIOManager(url: "http://127.0.0.1:3000")
/// let chat = manager.socket()                                   // namespace "/"
/// let admin = manager.socket(namespace: "/admin", auth: ["role": "admin"])
/// chat.on("chat") { event in print(event.arguments) }
/// chat.connect()
/// admin.connect()
/// ...
/// await manager.close()   // every socket disconnects; call it once done
/// ```
///
/// The connection opens when the first socket connects and closes when the last one
/// disconnects. When it is lost, the manager reconnects with backoff (1 s doubling to 5 s,
/// randomization 0.5 by default) and every socket that was connected connects again,
/// recovering its session where the server supports it. Prefer `SocketIOClient.connect(to:body:)`
/// or `SocketIOClient.withManager(url:body:)`, which close it for you.
public final class SocketIOManager: Sendable {
    public let url: SocketIOClientURL
    public let configuration: SocketIOClientConfiguration
    /// Where the connection, the sockets' state and every listener run.
    public let eventLoop: any EventLoop

    enum Phase {
        case idle
        case opening
        case open
        /// Waiting for the next attempt.
        case waiting(Scheduled<Void>)
        /// `close()` was called: nothing opens again.
        case closed
    }

    struct LoopState {
        var engine: EngineClientConnection?
        var phase: Phase = .idle
        var decoder: SocketIOPacketDecoder
        var backoff: ReconnectionBackoff
    }

    let loop: NIOLoopBoundBox<LoopState>
    private let socketTable = NIOLockedValueBox<[String: SocketIOClientSocket]>([:])
    private let httpClient = NIOLockedValueBox<HTTPClient?>(nil)
    private let random: @Sendable () -> Double

    /// - Parameters:
    ///   - url: `http://`, `https://`, `ws://` or `wss://`; its path names the namespace
    ///     `socket()` uses by default, its query goes with every request.
    ///   - random: draws in `0..<1` for the reconnection jitter (injected by tests).
    /// - Throws: `SocketIOClientError` `.invalidURL`.
    public init(
        url: String,
        configuration: SocketIOClientConfiguration = SocketIOClientConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) throws(SocketIOClientError) {
        self.url = try SocketIOClientURL(parsing: url)
        var configuration = configuration
        if let userInfo = self.url.userInfo, configuration.headers.first(name: "Authorization") == nil {
            configuration.headers.add(name: "Authorization", value: "Basic " + Data(userInfo.utf8).base64EncodedString())
        }
        self.configuration = configuration
        self.eventLoop = eventLoopGroup.next()
        self.random = random
        let state = LoopState(
            decoder: SocketIOPacketDecoder(limits: configuration.decoderLimits),
            backoff: ReconnectionBackoff(configuration.reconnection))
        self.loop = NIOLoopBoundBox.makeBoxSendingValue(state, eventLoop: eventLoop)
    }

    deinit {
        // Only when `close()` was never called: async-http-client insists on a shutdown.
        httpClient.withLockedValue { $0 }?.shutdown { _ in }
    }

    /// The socket of `namespace` (the URL's own by default), made on first use; later calls
    /// return the same socket (and keep its first `auth`).
    public func socket(namespace: String? = nil, auth: SocketIOValue? = nil) -> SocketIOClientSocket {
        var name = namespace ?? url.namespace
        if !name.hasPrefix("/") { name = "/" + name }
        return socketTable.withLockedValue { sockets in
            if let socket = sockets[name] { return socket }
            let socket = SocketIOClientSocket(namespace: name, manager: self, auth: auth)
            sockets[name] = socket
            return socket
        }
    }

    /// The transport in use while connected.
    public var transport: EngineTransport? {
        get async { try? await eventLoop.submit { self.transportOnLoop }.get() }
    }

    /// Disconnects every socket (DISCONNECT for each, then the Engine.IO `close`), stops
    /// reconnecting, ends every `updates()` and `events()` sequence, and releases the
    /// HTTP client. The manager cannot be opened again.
    public func close() async {
        let all = socketTable.withLockedValue { $0 }
        let drained = try? await eventLoop.submit { () -> EventLoopFuture<Void> in
            if case .waiting(let timer) = self.loop.value.phase { timer.cancel() }
            self.loop.value.phase = .closed
            for socket in all.values {
                socket.perform(socket.loop.value.state.disconnect())
                socket.deactivate()
            }
            let engine = self.loop.value.engine
            self.loop.value.engine = nil
            engine?.close()
            return engine?.drained() ?? self.eventLoop.makeSucceededVoidFuture()
        }.get()
        // On long-polling the DISCONNECTs and the `close` packet go in a last POST, which
        // may wait for the one in flight: let it reach the server, within the open timeout.
        if let drained {
            let ended = eventLoop.makePromise(of: Void.self)
            let once = NIOLockedValueBox(false)
            let end: @Sendable () -> Void = {
                if !once.withLockedValue({ done in defer { done = true }; return done }) { ended.succeed() }
            }
            let timeout = eventLoop.scheduleTask(in: configuration.engine.openTimeout) { end() }
            drained.whenComplete { _ in end() }
            try? await ended.futureResult.get()
            timeout.cancel()
        }
        for socket in all.values { socket.subscribers.finish() }
        socketTable.withLockedValue { $0.removeAll() }
        if let client = httpClient.withLockedValue({ client in defer { client = nil }; return client }) {
            try? await client.shutdown()
        }
    }

    // MARK: On the event loop

    var transportOnLoop: EngineTransport? {
        guard let engine = loop.value.engine, engine.isOpen else { return nil }
        return engine.transport
    }

    var isWritableOnLoop: Bool { loop.value.engine?.isWritable ?? false }

    var activeSocketsOnLoop: [SocketIOClientSocket] {
        sockets(all: false)
    }

    /// The sockets, in namespace order; only the active ones unless `all`.
    func sockets(all: Bool) -> [SocketIOClientSocket] {
        let list = socketTable.withLockedValue { $0.sorted { $0.key < $1.key }.map(\.value) }
        return all ? list : list.filter(\.isActiveOnLoop)
    }

    func socketOnLoop(_ namespace: String) -> SocketIOClientSocket? {
        socketTable.withLockedValue { $0[namespace] }
    }

    /// A socket's `connect()`.
    func connectSocket(_ socket: SocketIOClientSocket) {
        switch loop.value.phase {
        case .closed:
            socket.connectFailed(SocketIOClientError(.connectionFailed, "the manager is closed"), willRetry: false)
        case .open:
            socket.connectOnLoop(engineOpen: true)
        case .opening, .waiting:
            socket.connectOnLoop(engineOpen: false)
        case .idle:
            socket.connectOnLoop(engineOpen: false)
            open()
        }
    }

    /// A socket stopped wanting the connection: with none left, the connection closes.
    func socketBecameInactive() {
        guard activeSocketsOnLoop.isEmpty else { return }
        switch loop.value.phase {
        case .open, .opening:
            loop.value.phase = .idle
            loop.value.engine?.close()
            loop.value.engine = nil
        case .waiting(let timer):
            timer.cancel()
            loop.value.phase = .idle
        case .idle, .closed:
            break
        }
    }

    /// Encodes a packet and sends it with its attachments.
    func write(_ packet: SocketIOPacket) {
        guard let engine = loop.value.engine else { return }
        var text = ByteBuffer()
        let attachments = SocketIOPacketEncoder.encode(packet, into: &text)
        var packets = [EnginePacket(.message, data: text)]
        for attachment in attachments { packets.append(EnginePacket(.message, data: attachment, isBinary: true)) }
        engine.send(packets)
    }

    func open() {
        let engine = EngineClientConnection(
            url: url, configuration: configuration, eventLoop: eventLoop, polling: makePolling(), delegate: self)
        loop.value.engine = engine
        loop.value.phase = .opening
        loop.value.decoder.reset()
        engine.start()
    }

    private func makePolling() -> PollingTransport? {
        guard configuration.transports.contains(.polling) else { return nil }
        let client = httpClient.withLockedValue { client in
            if let client { return client }
            var settings = HTTPClient.Configuration()
            settings.tlsConfiguration = try? configuration.tls.makeTLSConfiguration()
            settings.redirectConfiguration = .disallow
            settings.httpVersion = .http1Only
            settings.decompression = .disabled
            settings.timeout.connect = configuration.engine.openTimeout
            // The manager reconnects itself, with its own backoff.
            settings.connectionPool.retryConnectionEstablishment = false
            let made = HTTPClient(eventLoopGroup: eventLoop, configuration: settings)
            client = made
            return made
        }
        return PollingTransport(
            client: client, headers: configuration.headers, maxPayloadBytes: configuration.engine.maxPayloadBytes)
    }

    /// After a lost or failed connection: another attempt after the backoff, or giving up.
    func scheduleReconnection() {
        guard !activeSocketsOnLoop.isEmpty, configuration.reconnection.isEnabled else {
            for socket in activeSocketsOnLoop { socket.deactivate() }
            return
        }
        guard loop.value.backoff.mayRetry else {
            let attempts = loop.value.backoff.attempts
            for socket in activeSocketsOnLoop {
                socket.deactivate()
                socket.publish(.reconnectFailed(attempts: attempts))
            }
            return
        }
        let delay = loop.value.backoff.nextDelay(random: random())
        let attempt = loop.value.backoff.attempts
        for socket in activeSocketsOnLoop { socket.publish(.reconnecting(attempt: attempt, delay: delay)) }
        let timer = eventLoop.scheduleTask(in: delay) { [self] in
            guard case .waiting = loop.value.phase else { return }
            open()
        }
        loop.value.phase = .waiting(timer)
    }
}
