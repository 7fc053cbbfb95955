import NIOCore

/// Why an Engine.IO session ended, named as the official server names it.
public enum EngineCloseReason: String, Sendable, Hashable {
    /// The client closed its transport or sent a `close` packet.
    case transportClose = "transport close"
    /// The transport failed: overlapping polls, a client ping (v4 heartbeats go the other
    /// way), too many packets waiting for a polling client.
    case transportError = "transport error"
    case pingTimeout = "ping timeout"
    case parseError = "parse error"
    /// The server closed the session.
    case forcedClose = "forced close"
    /// The server is shutting down (`EngineServer.shutdown()`).
    case serverShutdown = "server shutting down"
    /// The client did not take what was sent to it fast enough: more than the configured
    /// bytes or packets waited for it. The official server has no such bound.
    case slowConsumer = "slow consumer"
}

/// What the driver must do for a session, in order.
public enum EngineSessionAction: Sendable, Hashable {
    /// Answer the held (or arriving) polling GET with these packets.
    case respondToPoll([EnginePacket])
    /// Send these packets on the session's WebSocket.
    case sendOnWebSocket([EnginePacket])
    /// Send this packet on the WebSocket that is probing for an upgrade.
    case sendOnProbe(EnginePacket)
    /// The upgrade is abandoned: close the probing WebSocket.
    case closeProbe
    /// Application data from the client.
    case deliver(EngineMessage)
    /// The session is over: answer a held GET with a `close` packet and release the
    /// transports. Nothing follows.
    case closed(EngineCloseReason)
}

/// One Engine.IO v4 session as the server sees it, without I/O: the transport in use, the
/// upgrade from polling to WebSocket, the held polling request, the packets waiting for
/// it, and the server-driven heartbeat. Time comes in as arguments; `nextDeadline` says
/// when to call `tick(now:)` again.
///
/// Rules, from the Engine.IO v4 protocol:
/// - the server pings every `pingInterval` and closes with "ping timeout" when no pong
///   comes within `pingTimeout`; a ping from the client is a "transport error";
/// - one polling GET at a time: a second while one is held closes the session;
/// - upgrade: `2probe` on the new WebSocket is answered `3probe`, the held GET is released
///   with `6` (noop), and `5` on the WebSocket switches the session over; anything else,
///   or `upgradeTimeout`, abandons the upgrade.
///
/// And one of Canal's: a GET with the `t` of the GET answered last is that request again (a
/// proxy retrying it because the answer was lost on the way); it gets the same answer, and
/// packets queued since wait for the next GET (`EnginePollReplay`).
public struct EngineSessionState: Sendable {
    public let id: String
    public let configuration: EngineConfiguration
    public private(set) var transport: EngineTransport
    private var phase: Phase = .open {
        // Whatever ends the session drops the answer kept for a retry.
        didSet { if phase == .closed { replay.release() } }
    }
    private var upgrade: Upgrade = .none
    /// A polling GET is waiting for packets.
    public private(set) var isPollHeld = false
    /// Packets waiting for the next polling GET (or for the end of an upgrade).
    private var outbox: [EnginePacket] = []
    /// The last polling answer, kept for the same GET sent again.
    private var replay = EnginePollReplay()
    private var nextPing: NIODeadline?
    private var pongDeadline: NIODeadline?

    private enum Phase: Sendable, Hashable {
        case open
        /// The server closes; a polling client takes its last packets until the deadline.
        case closing(deadline: NIODeadline)
        case closed
    }

    private enum Upgrade: Sendable, Hashable {
        case none
        /// A WebSocket for this session is open; `2probe` has not come yet.
        case awaitingProbe(deadline: NIODeadline)
        /// `3probe` was sent; waiting for `5`.
        case probed(deadline: NIODeadline)
        case done
    }

    /// A new session. Its `open` packet is the first thing it sends.
    public init(id: String, transport: EngineTransport, configuration: EngineConfiguration, now: NIODeadline) {
        self.id = id
        self.transport = transport
        self.configuration = configuration
        self.nextPing = now + configuration.pingInterval
    }

    /// The `open` packet, to send first on the handshake's transport.
    public var openPacket: EnginePacket {
        EnginePacket(.open, text: configuration.handshakeJSON(sessionID: id, transport: transport))
    }

    public var isClosed: Bool { phase == .closed }
    /// True when a packet can go straight out on the session's WebSocket (the hot path,
    /// without an action).
    public var sendsOnWebSocket: Bool { transport == .websocket && phase == .open }
    public var isOpen: Bool { phase == .open }

    /// True once a WebSocket is probing or has taken over.
    public var hasWebSocket: Bool { transport == .websocket || upgrade != .none }
    public var isUpgrading: Bool {
        switch upgrade {
        case .awaitingProbe, .probed: return true
        case .none, .done: return false
        }
    }

    /// How many packets wait for a polling client.
    public var pendingPacketCount: Int { outbox.count }

    /// The earliest time `tick(now:)` has something to do.
    public var nextDeadline: NIODeadline? {
        var earliest: NIODeadline?
        func consider(_ deadline: NIODeadline?) {
            guard let deadline else { return }
            earliest = earliest.map { min($0, deadline) } ?? deadline
        }
        guard phase != .closed else { return nil }
        consider(nextPing)
        consider(pongDeadline)
        switch upgrade {
        case .awaitingProbe(let deadline), .probed(let deadline): consider(deadline)
        case .none, .done: break
        }
        if case .closing(let deadline) = phase { consider(deadline) }
        return earliest
    }

    // MARK: Sending

    /// Queues a packet from the server. Returns the action that sends it now, if any;
    /// polling packets wait for `flushPoll()` (call it once per turn of the loop, so that
    /// several packets leave in one response).
    public mutating func send(_ packet: EnginePacket) -> EngineSessionAction? {
        guard phase == .open else { return nil }
        if transport == .websocket { return .sendOnWebSocket([packet]) }
        outbox.append(packet)
        if outbox.count > configuration.maxPendingPackets { return close(.slowConsumer) }
        return nil
    }

    /// Answers a held GET with the packets waiting, if both exist.
    public mutating func flushPoll() -> EngineSessionAction? {
        guard transport == .polling, isPollHeld, !outbox.isEmpty else { return nil }
        isPollHeld = false
        defer { outbox.removeAll(keepingCapacity: true) }
        if case .closing = phase {
            phase = .closed
            return .respondToPoll(outbox + [.close])
        }
        replay.answeredHeld(outbox)
        return .respondToPoll(outbox)
    }

    // MARK: Polling

    /// What to do with a polling GET.
    public enum PollDecision: Sendable, Hashable {
        /// Answer it with these packets now.
        case respond([EnginePacket])
        /// Hold it until packets come (`flushPoll`), a noop releases it, or the session closes.
        case hold
        /// Answer 400: it overlaps a held GET. `actions` close the session.
        case rejectOverlap(actions: [EngineSessionAction])
        /// The session is closed; answer with a `close` packet.
        case closed
    }

    /// A polling GET arrived.
    ///
    /// - Parameter requestID: the GET's `t` query parameter, if it has one. The same `t` as
    ///   the GET answered last makes this GET that one again: it gets the same answer.
    ///   A client that sent one `t` twice on purpose would get an answer twice; the clients
    ///   we know make it unique (engine.io-client, python-engineio) or send none (ours).
    public mutating func pollArrived(now: NIODeadline, requestID: String? = nil) -> PollDecision {
        switch phase {
        case .closed:
            return .closed
        case .closing:
            if let answer = replay.repeatedAnswer(requestID: requestID) { return .respond(answer) }
            let packets = outbox + [.close]
            outbox.removeAll()
            phase = .closed
            return .respond(packets)
        case .open:
            break
        }
        guard !isPollHeld else {
            // The held GET gets the session's `close`; the new one 400.
            isPollHeld = false
            outbox.removeAll()
            phase = .closed
            return .rejectOverlap(actions: [.closed(.transportError)])
        }
        if let answer = replay.repeatedAnswer(requestID: requestID) { return .respond(answer) }
        if !outbox.isEmpty {
            defer { outbox.removeAll(keepingCapacity: true) }
            replay.answered(requestID: requestID, outbox)
            return .respond(outbox)
        }
        if case .probed = upgrade {
            // The client is switching over: release its polling at once.
            replay.answered(requestID: requestID, [.noop])
            return .respond([.noop])
        }
        isPollHeld = true
        replay.held(requestID: requestID)
        return .hold
    }

    /// The held GET's connection went away before it was answered.
    public mutating func heldPollLost() -> EngineSessionAction? {
        guard isPollHeld else { return nil }
        isPollHeld = false
        // Once upgraded the polling transport is gone anyway; before, this ends the session.
        guard transport == .polling, phase == .open else { return nil }
        return close(.transportClose)
    }

    /// The packets of a POST body, decoded. Returns the actions in order (deliveries,
    /// possibly a close).
    public mutating func postArrived(_ packets: [EnginePacket], now: NIODeadline) -> [EngineSessionAction] {
        var actions: [EngineSessionAction] = []
        for packet in packets {
            guard phase == .open else { break }
            if let action = receive(packet, now: now) { actions.append(action) }
        }
        return actions
    }

    /// A POST body that did not parse.
    public mutating func parseFailed() -> EngineSessionAction? {
        close(.parseError)
    }

    // MARK: Packets from the client on the session's transport

    /// One packet that arrived on the session's own transport (a WebSocket message, or
    /// one packet of a POST).
    public mutating func receive(_ packet: EnginePacket, now: NIODeadline) -> EngineSessionAction? {
        guard phase != .closed else { return nil }
        switch packet.type {
        case .message:
            guard phase == .open else { return nil }
            return .deliver(packet.isBinary ? .binary(packet.data) : .text(packet.data))
        case .pong:
            if pongDeadline != nil {
                pongDeadline = nil
                nextPing = now + configuration.pingInterval
            }
            return nil
        case .ping:
            // Engine.IO v4: only the server pings ("invalid heartbeat direction").
            return close(.transportError)
        case .close:
            return close(.transportClose)
        case .open, .upgrade, .noop:
            return nil
        }
    }

    // MARK: The upgrade

    /// A WebSocket for this session was accepted; it must now probe.
    public mutating func probeOpened(now: NIODeadline) {
        guard phase == .open, transport == .polling, upgrade == .none else { return }
        upgrade = .awaitingProbe(deadline: now + configuration.upgradeTimeout)
    }

    /// A packet on the probing WebSocket.
    public mutating func probeReceived(_ packet: EnginePacket, now: NIODeadline) -> [EngineSessionAction] {
        switch upgrade {
        case .awaitingProbe(let deadline) where packet.type == .ping && packet.isProbe:
            upgrade = .probed(deadline: deadline)
            var actions: [EngineSessionAction] = [.sendOnProbe(.probePong)]
            if isPollHeld, outbox.isEmpty {
                isPollHeld = false
                replay.answeredHeld([.noop])
                actions.append(.respondToPoll([.noop]))
            }
            return actions
        case .probed where packet.type == .upgrade:
            upgrade = .done
            transport = .websocket
            replay.release()  // polling is over
            var actions: [EngineSessionAction] = []
            if isPollHeld {
                isPollHeld = false
                actions.append(.respondToPoll([.noop]))
            }
            if !outbox.isEmpty {
                actions.append(.sendOnWebSocket(outbox))
                outbox.removeAll()
            }
            if case .closing = phase {
                phase = .closed
                actions.append(.closed(.forcedClose))
            }
            return actions
        case .awaitingProbe, .probed:
            upgrade = .none
            return [.closeProbe]
        case .none, .done:
            return []
        }
    }

    /// The probing WebSocket closed before the upgrade finished.
    public mutating func probeLost() {
        if isUpgrading { upgrade = .none }
    }

    // MARK: Closing and time

    /// The session's own transport closed (the WebSocket dropped, the client went away).
    public mutating func transportLost(reason: EngineCloseReason = .transportClose) -> EngineSessionAction? {
        guard phase != .closed else { return nil }
        phase = .closed
        isPollHeld = false
        return .closed(reason)
    }

    /// The server closes the session. A polling client gets the packets still waiting and
    /// a `close` packet; a WebSocket is closed at once.
    public mutating func close(now: NIODeadline) -> [EngineSessionAction] {
        guard phase == .open else { return [] }
        if transport == .polling {
            var actions: [EngineSessionAction] = isUpgrading ? [.closeProbe] : []
            upgrade = .none
            if isPollHeld {
                isPollHeld = false
                actions.append(.respondToPoll(outbox + [.close]))
                outbox.removeAll()
                phase = .closed
                actions.append(.closed(.forcedClose))
            } else {
                phase = .closing(deadline: now + configuration.closeTimeout)
            }
            return actions
        }
        phase = .closed
        return [.closed(.forcedClose)]
    }

    /// The server is going away: the session ends at once, with nothing more sent on it.
    /// The driver releases a held GET and the WebSocket in a way that makes clients
    /// reconnect (an Engine.IO `close` packet would tell some clients, python-socketio's
    /// among them, to stay away).
    public mutating func abandon() -> EngineSessionAction? {
        guard phase != .closed else { return nil }
        phase = .closed
        outbox.removeAll()
        upgrade = .none
        return .closed(.serverShutdown)
    }

    /// Runs what is due at `now`: a ping, a ping timeout, an upgrade timeout, the end of a close.
    public mutating func tick(now: NIODeadline) -> [EngineSessionAction] {
        var actions: [EngineSessionAction] = []
        if case .closing(let deadline) = phase, deadline <= now {
            phase = .closed
            outbox.removeAll()
            return [.closed(.forcedClose)]
        }
        guard phase != .closed else { return [] }
        if let deadline = pongDeadline, deadline <= now {
            if let action = close(.pingTimeout) { actions.append(action) }
            return actions
        }
        switch upgrade {
        case .awaitingProbe(let deadline), .probed(let deadline):
            if deadline <= now {
                upgrade = .none
                actions.append(.closeProbe)
            }
        case .none, .done: break
        }
        if let ping = nextPing, ping <= now, phase == .open {
            nextPing = nil
            pongDeadline = now + configuration.pingTimeout
            if let action = send(.ping) { actions.append(action) }
            if let action = flushPoll() { actions.append(action) }
        }
        return actions
    }

    /// Ends the session because of the peer: a held GET gets `close`.
    private mutating func close(_ reason: EngineCloseReason) -> EngineSessionAction? {
        guard phase != .closed else { return nil }
        phase = .closed
        outbox.removeAll()
        isPollHeld = false
        return .closed(reason)
    }
}
