import NIOCore

/// Why an Engine.IO client session ended, named as engine.io-client names it.
public enum EngineClientCloseReason: String, Sendable, Hashable {
    /// The application closed the session.
    case forcedClose = "forced close"
    /// The server closed the transport or sent a `close` packet.
    case transportClose = "transport close"
    /// A request failed, the connection dropped, or the server could not be reached.
    case transportError = "transport error"
    /// No ping from the server within `pingInterval + pingTimeout`.
    case pingTimeout = "ping timeout"
    /// The server sent something that is not Engine.IO, or more than `maxPayloadBytes`.
    case parseError = "parse error"
    /// The session did not open within `openTimeout`.
    case openTimeout = "timeout"
}

/// What the driver of an Engine.IO client must do, in order.
public enum EngineClientAction: Sendable, Hashable {
    /// Open the session on this transport: a polling GET, or a WebSocket, without `sid`.
    case openTransport(EngineTransport)
    /// Start the next long-polling GET (with `sid`).
    case poll
    /// Send this body in a long-polling POST (with `sid`).
    case post(ByteBuffer)
    /// Send these packets on the session's WebSocket, in order.
    case sendOnWebSocket([EnginePacket])
    /// Open a WebSocket with the session's `sid` to probe for the upgrade.
    case openProbe
    /// Send this packet on the probing WebSocket.
    case sendOnProbe(EnginePacket)
    /// The upgrade is abandoned: close the probing WebSocket.
    case closeProbe
    /// The probe becomes the session's transport; long-polling is over.
    case promoteProbe
    /// The handshake is done: the session is open.
    case opened(EngineHandshake)
    /// Application data from the server.
    case deliver(EngineMessage)
    /// Close the session's transport (after writing what the actions before this one sent).
    case closeTransport
    /// The session is over. Nothing follows.
    case closed(EngineClientCloseReason)
}

/// One Engine.IO v4 session as the client sees it, without I/O: the handshake, the
/// heartbeat the server drives, the write buffer, and the upgrade from long-polling to
/// WebSocket. Time comes in as arguments; `nextDeadline` says when to call `tick(now:)`.
///
/// Rules, from the Engine.IO v4 protocol and engine.io-client:
/// - the first packet of a session is `open`, whose JSON gives `sid`, `upgrades` and the
///   heartbeat; anything else first is a parse error;
/// - the server pings, the client answers `pong`; no ping within `pingInterval +
///   pingTimeout` ends the session with "ping timeout";
/// - long-polling: one GET and one POST at a time; packets written while a POST is in
///   flight wait in the write buffer and leave together, at most `maxPayload` bytes a body;
/// - upgrade: on the probe WebSocket `2probe` is answered `3probe`; then polling pauses
///   (the GET and POST in flight finish, no new ones start), `5` goes out on the WebSocket,
///   which becomes the transport, and the write buffer follows. A failed probe leaves the
///   session on polling.
public struct EngineClientState: Sendable {
    public let configuration: EngineClientConfiguration
    public private(set) var phase: Phase = .idle
    /// The transport the session uses now.
    public internal(set) var transport: EngineTransport
    public private(set) var handshake: EngineHandshake?
    var probe: Probe = .none
    var pollInFlight = false
    var postInFlight = false
    var writeBuffer: [EnginePacket] = []
    /// The application closed while a POST was in flight: the `close` packet follows it.
    var closeAfterPost = false
    private var openDeadline: NIODeadline?
    private var pingDeadline: NIODeadline?

    public enum Phase: Sendable, Hashable {
        case idle
        case opening
        case open
        case closed(EngineClientCloseReason)
    }

    enum Probe: Sendable, Hashable {
        case none
        /// The probe WebSocket is being opened.
        case connecting(deadline: NIODeadline)
        /// `2probe` is sent; waiting for `3probe`.
        case probing(deadline: NIODeadline)
        /// `3probe` came; polling finishes what is in flight before the switch.
        case pausing(deadline: NIODeadline)
        /// Abandoned or finished: no other attempt in this session.
        case over
    }

    public init(configuration: EngineClientConfiguration = EngineClientConfiguration()) {
        self.configuration = configuration
        self.transport = configuration.initialTransport
    }

    public var isOpen: Bool { phase == .open }
    public var isClosed: Bool { if case .closed = phase { return true } else { return false } }
    /// A POST is in flight, or the last one (the `close` packet) waits for it: what the
    /// session wrote has not all reached the server yet.
    public var isPosting: Bool { postInFlight || closeAfterPost }
    /// True while a WebSocket probe is under way.
    public var isUpgrading: Bool {
        switch probe {
        case .connecting, .probing, .pausing: return true
        case .none, .over: return false
        }
    }
    /// Whether a packet sent now leaves at once (engine.io-client's `writable`): volatile
    /// packets are dropped when it is false.
    public var isWritable: Bool {
        guard phase == .open else { return false }
        if transport == .websocket { return true }
        if case .pausing = probe { return false }
        return !postInFlight
    }
    /// Packets waiting for the transport.
    public var bufferedPacketCount: Int { writeBuffer.count }

    /// The earliest time `tick(now:)` has something to do.
    public var nextDeadline: NIODeadline? {
        guard !isClosed else { return nil }
        var deadlines = [openDeadline, pingDeadline]
        switch probe {
        case .connecting(let deadline), .probing(let deadline), .pausing(let deadline): deadlines.append(deadline)
        case .none, .over: break
        }
        return deadlines.compactMap { $0 }.min()
    }

    // MARK: Opening

    /// Starts the session on the first configured transport.
    public mutating func start(now: NIODeadline) -> [EngineClientAction] {
        guard phase == .idle else { return [] }
        phase = .opening
        openDeadline = now + configuration.openTimeout
        if transport == .polling { pollInFlight = true }
        return [.openTransport(transport)]
    }

    // MARK: Sending

    /// Queues a packet for the server and returns what sends it now, if anything can.
    public mutating func send(_ packet: EnginePacket) -> [EngineClientAction] {
        send([packet])
    }

    /// Queues packets (a Socket.IO packet and its attachments) so that they leave together.
    public mutating func send(_ packets: [EnginePacket]) -> [EngineClientAction] {
        guard phase == .open || phase == .opening else { return [] }
        writeBuffer.append(contentsOf: packets)
        if writeBuffer.count > configuration.maxPendingPackets {
            return fail(.transportError)
        }
        return flush()
    }

    mutating func flush() -> [EngineClientAction] {
        guard phase == .open, !writeBuffer.isEmpty else { return [] }
        switch transport {
        case .websocket:
            defer { writeBuffer.removeAll(keepingCapacity: true) }
            return [.sendOnWebSocket(writeBuffer)]
        case .polling:
            guard isWritable else { return [] }
            postInFlight = true
            return [.post(EnginePayload.encode(takePayloadPackets()))]
        }
    }

    /// Takes from the write buffer the packets of one POST body: as many as fit in the
    /// server's `maxPayload`, and always at least one (engine.io-client's `getWritablePackets`).
    private mutating func takePayloadPackets() -> [EnginePacket] {
        guard let limit = handshake?.maxPayload, limit > 0 else {
            defer { writeBuffer.removeAll(keepingCapacity: true) }
            return writeBuffer
        }
        var size = 0
        var count = 0
        for packet in writeBuffer {
            // Type digit (or `b` + base64) and the separator.
            let length = packet.isBinary ? (packet.data.readableBytes + 2) / 3 * 4 + 1 : packet.data.readableBytes + 1
            size += length + (count > 0 ? 1 : 0)
            if count > 0, size > limit { break }
            count += 1
        }
        defer { writeBuffer.removeFirst(count) }
        return Array(writeBuffer.prefix(count))
    }

    // MARK: Long-polling

    /// A polling GET (the handshake's or a later one) answered with this body.
    public mutating func pollResponded(_ body: ByteBuffer, now: NIODeadline) -> [EngineClientAction] {
        guard transport == .polling, pollInFlight else { return [] }
        pollInFlight = false
        guard phase == .opening || phase == .open else { return [] }
        guard body.readableBytes <= configuration.maxPayloadBytes else { return fail(.parseError) }
        let packets: [EnginePacket]
        do {
            packets = try EnginePayload.decode(body)
        } catch {
            return fail(.parseError)
        }
        var actions: [EngineClientAction] = []
        for packet in packets {
            actions += receive(packet, now: now)
            if isClosed { return actions }
        }
        if transport == .polling, phase == .open {
            if case .pausing = probe {
                actions += finishUpgradeIfPaused()
            } else {
                pollInFlight = true
                actions.append(.poll)
            }
        }
        return actions
    }

    /// A polling GET failed: no connection, an HTTP error, a broken response.
    public mutating func pollFailed(now: NIODeadline) -> [EngineClientAction] {
        guard transport == .polling, pollInFlight else { return [] }
        pollInFlight = false
        return fail(.transportError)
    }

    /// The POST in flight was accepted.
    public mutating func postSucceeded(now: NIODeadline) -> [EngineClientAction] {
        guard postInFlight else { return [] }
        postInFlight = false
        if closeAfterPost {
            closeAfterPost = false
            postInFlight = true
            defer { writeBuffer.removeAll() }
            return [.post(EnginePayload.encode(writeBuffer))]
        }
        guard phase == .open, transport == .polling else { return [] }
        if case .pausing = probe { return finishUpgradeIfPaused() }
        return flush()
    }

    /// The POST in flight failed.
    public mutating func postFailed(now: NIODeadline) -> [EngineClientAction] {
        guard postInFlight else { return [] }
        postInFlight = false
        closeAfterPost = false
        guard transport == .polling else { return [] }
        return fail(.transportError)
    }

    // MARK: WebSocket

    /// A message on the session's WebSocket (the one that opened it, or the promoted probe).
    public mutating func webSocketReceived(_ packet: EnginePacket, now: NIODeadline) -> [EngineClientAction] {
        guard transport == .websocket, phase == .opening || phase == .open else { return [] }
        return receive(packet, now: now)
    }

    /// The session's transport brought something that is not Engine.IO: a WebSocket message
    /// that does not decode, or a message or polling body over `maxPayloadBytes`.
    public mutating func receivedGarbage() -> [EngineClientAction] {
        fail(.parseError)
    }

    /// The session's WebSocket closed or could not be opened.
    public mutating func webSocketClosed(now: NIODeadline) -> [EngineClientAction] {
        guard transport == .websocket, phase == .opening || phase == .open else { return [] }
        return fail(phase == .opening ? .transportError : .transportClose)
    }

    // MARK: Packets from the server

    private mutating func receive(_ packet: EnginePacket, now: NIODeadline) -> [EngineClientAction] {
        if phase == .opening {
            guard packet.type == .open, !packet.isBinary, let handshake = EngineHandshake(openPacketData: packet.data)
            else { return fail(.parseError) }
            return open(handshake, now: now)
        }
        switch packet.type {
        case .message:
            return [.deliver(packet.isBinary ? .binary(packet.data) : .text(packet.data))]
        case .ping:
            // Engine.IO v4: the server pings, the client answers and waits for the next one.
            if let handshake { pingDeadline = now + handshake.heartbeatTimeout }
            return send(.pong)
        case .close:
            return fail(.transportClose)
        case .noop, .pong, .open, .upgrade:
            // noop releases a GET during the upgrade; the rest have no meaning here.
            return []
        }
    }

    private mutating func open(_ handshake: EngineHandshake, now: NIODeadline) -> [EngineClientAction] {
        self.handshake = handshake
        phase = .open
        openDeadline = nil
        pingDeadline = now + handshake.heartbeatTimeout
        var actions: [EngineClientAction] = [.opened(handshake)]
        if configuration.shouldUpgrade(handshake, from: transport), probe == .none {
            probe = .connecting(deadline: now + configuration.upgradeTimeout)
            actions.append(.openProbe)
        }
        actions += flush()
        return actions
    }

    // MARK: Closing and time

    /// The application closes the session: what is buffered and a `close` packet are sent,
    /// then the transport is closed.
    public mutating func close(now: NIODeadline) -> [EngineClientAction] {
        switch phase {
        case .idle:
            phase = .closed(.forcedClose)
            return [.closed(.forcedClose)]
        case .closed:
            return []
        case .opening:
            phase = .closed(.forcedClose)
            return [.closeTransport, .closed(.forcedClose)]
        case .open:
            break
        }
        var actions: [EngineClientAction] = []
        if isUpgrading { actions.append(.closeProbe) }
        probe = .over
        writeBuffer.append(.close)
        switch transport {
        case .websocket:
            actions.append(.sendOnWebSocket(writeBuffer))
            writeBuffer.removeAll()
        case .polling where postInFlight:
            // What the POST in flight carries must reach the server first (engine.io-client
            // waits for "drain" too): the last POST goes when it is done.
            closeAfterPost = true
        case .polling:
            postInFlight = true
            actions.append(.post(EnginePayload.encode(writeBuffer)))
            writeBuffer.removeAll()
        }
        phase = .closed(.forcedClose)
        actions += [.closeTransport, .closed(.forcedClose)]
        return actions
    }

    /// Runs what is due at `now`: the open timeout, the ping timeout, the upgrade timeout.
    public mutating func tick(now: NIODeadline) -> [EngineClientAction] {
        guard !isClosed else { return [] }
        if let deadline = openDeadline, deadline <= now, phase == .opening {
            return fail(.openTimeout)
        }
        if let deadline = pingDeadline, deadline <= now {
            return fail(.pingTimeout)
        }
        switch probe {
        case .connecting(let deadline), .probing(let deadline), .pausing(let deadline):
            if deadline <= now { return abandonProbe() }
        case .none, .over:
            break
        }
        return []
    }

    /// Ends the session because of the server or the network.
    private mutating func fail(_ reason: EngineClientCloseReason) -> [EngineClientAction] {
        guard !isClosed else { return [] }
        var actions: [EngineClientAction] = []
        if isUpgrading { actions.append(.closeProbe) }
        probe = .over
        phase = .closed(reason)
        writeBuffer.removeAll()
        pollInFlight = false
        postInFlight = false
        actions += [.closeTransport, .closed(reason)]
        return actions
    }
}
