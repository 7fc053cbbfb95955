import CanalEngineIOCore
import CanalSocketIOCore
import NIOCore

/// One namespace of a client, without I/O: the CONNECT exchange, the session id and the
/// recovery fields, acknowledgement ids and their deadlines, and the bounded offline
/// buffer. Time comes in as arguments; `nextDeadline` says when to call `tick(now:)`.
///
/// Rules, from the Socket.IO v5 protocol and socket.io-client:
/// - CONNECT carries the auth object; with recovery, `pid` and `offset` (the last offset
///   seen) are added to it, and the answer's `pid` equal to ours means the session was
///   recovered;
/// - the answer to CONNECT is `{"sid"}` (and `"pid"`), or CONNECT_ERROR `{"message","data"}`;
/// - with recovery, the server appends an offset to each event it keeps: the last string
///   argument of an EVENT without ack id;
/// - emits made while not connected wait in the offline buffer and leave, in order, right
///   after the next CONNECT answer; volatile emits never wait;
/// - ack ids count up from 0 per socket.
struct SocketIOClientSocketState: Sendable {
    enum Status: Sendable, Hashable {
        case disconnected
        case connecting(deadline: NIODeadline)
        case connected(id: String)
    }

    enum Action: Sendable, Hashable {
        case send(SocketIOPacket)
        case connected(id: String, privateID: String?, recovered: Bool)
        case connectError(SocketIOClientError)
        case disconnected(SocketIOClientDisconnectReason)
        case event(name: String, arguments: [SocketIOValue], ackID: Int?, offset: String?)
        case ackReceived(id: Int, arguments: [SocketIOValue])
        case ackFailed(id: Int, SocketIOClientError)
        case dropped(SocketIOClientDroppedEmit, ackID: Int?)
    }

    private struct Buffered: Sendable, Hashable {
        var packet: SocketIOPacket
    }

    let namespace: String
    let offlineLimits: SocketIOClientConfiguration.OfflineBuffer
    let connectTimeout: TimeAmount
    private(set) var status: Status = .disconnected
    /// The application wants this socket connected (socket.io-client's `active`): the
    /// manager connects it whenever it is open, and reconnects it after a lost connection.
    private(set) var isActive = false
    private(set) var privateID: String?
    private(set) var lastOffset: String?
    private(set) var recovered = false
    private var nextAckID = 0
    /// Ack ids waiting for an answer, with their deadlines, and whether their EVENT left.
    private var pendingAcks: [Int: (deadline: NIODeadline?, sent: Bool)] = [:]
    private var offline: [Buffered] = []
    private(set) var droppedCount = 0

    init(namespace: String, offlineLimits: SocketIOClientConfiguration.OfflineBuffer, connectTimeout: TimeAmount) {
        self.namespace = namespace
        self.offlineLimits = offlineLimits
        self.connectTimeout = connectTimeout
    }

    var isConnected: Bool { if case .connected = status { return true } else { return false } }
    var id: String? { if case .connected(let id) = status { return id } else { return nil } }
    var offlineCount: Int { offline.count }

    var nextDeadline: NIODeadline? {
        var deadlines = pendingAcks.values.compactMap(\.deadline)
        if case .connecting(let deadline) = status { deadlines.append(deadline) }
        return deadlines.min()
    }

    // MARK: Connecting

    /// The application asks for the connection. With the engine open the CONNECT goes now;
    /// otherwise when the manager reports it open.
    mutating func connect(engineOpen: Bool, auth: SocketIOValue?, now: NIODeadline) -> [Action] {
        isActive = true
        guard engineOpen, status == .disconnected else { return [] }
        return engineOpened(auth: auth, now: now)
    }

    /// The manager's Engine.IO session is open: an active socket sends its CONNECT.
    mutating func engineOpened(auth: SocketIOValue?, now: NIODeadline) -> [Action] {
        guard isActive, status == .disconnected else { return [] }
        status = .connecting(deadline: now + connectTimeout)
        return [.send(SocketIOPacket(type: .connect, namespace: namespace, data: connectData(auth: auth)))]
    }

    /// The auth object, with `pid` and `offset` when there is a session to recover.
    private func connectData(auth: SocketIOValue?) -> SocketIOValue? {
        guard let privateID, let lastOffset else { return auth }
        var object = auth?.objectValue ?? SocketIOObject()
        object["pid"] = .string(privateID)
        object["offset"] = .string(lastOffset)
        return .object(object)
    }

    /// The application disconnects: DISCONNECT if connected, and the socket stays down.
    mutating func disconnect() -> [Action] {
        isActive = false
        let wasConnected = isConnected
        let wasConnecting = status != .disconnected
        status = .disconnected
        var actions: [Action] = []
        if wasConnected || wasConnecting {
            actions.append(.send(SocketIOPacket(type: .disconnect, namespace: namespace)))
        }
        if wasConnected { actions.append(.disconnected(.ioClientDisconnect)) }
        return actions + failSentAcks(.disconnected(.ioClientDisconnect))
    }

    /// The manager's Engine.IO session ended; the socket stays active for the reconnection.
    mutating func engineClosed(_ reason: SocketIOClientDisconnectReason) -> [Action] {
        let wasConnected = isConnected
        status = .disconnected
        var actions: [Action] = wasConnected ? [.disconnected(reason)] : []
        actions += failSentAcks(.disconnected(reason))
        return actions
    }

    /// The manager could not connect and will not try again: the socket stops wanting to.
    mutating func deactivate() {
        isActive = false
        status = .disconnected
    }

    // MARK: Packets from the server

    mutating func received(_ packet: SocketIOPacket, now: NIODeadline) -> [Action] {
        switch packet.type {
        case .connect:
            return connectAnswered(packet.data)
        case .connectError:
            guard status != .disconnected else { return [] }
            status = .disconnected
            isActive = false
            return [.connectError(Self.refusal(packet.data))]
        case .disconnect:
            guard isConnected else { return [] }
            status = .disconnected
            isActive = false
            return [.disconnected(.ioServerDisconnect)] + failSentAcks(.disconnected(.ioServerDisconnect))
        case .event, .binaryEvent:
            guard isConnected, var arguments = packet.data?.arrayValue, let first = arguments.first else { return [] }
            arguments.removeFirst()
            let name = first.stringValue ?? first.intValue.map(String.init) ?? SocketIOJSON.string(first)
            var offset: String?
            if privateID != nil, packet.id == nil, case .string(let text)? = arguments.last {
                offset = text
                lastOffset = text
                arguments.removeLast()
            }
            return [.event(name: name, arguments: arguments, ackID: packet.id, offset: offset)]
        case .ack, .binaryAck:
            guard let id = packet.id, pendingAcks.removeValue(forKey: id) != nil else { return [] }
            return [.ackReceived(id: id, arguments: packet.data?.arrayValue ?? [])]
        }
    }

    private mutating func connectAnswered(_ data: SocketIOValue?) -> [Action] {
        guard case .connecting = status else { return [] }
        guard let id = data?["sid"]?.stringValue else {
            // socket.io-client's words: an answer without sid comes from a Socket.IO v2 server.
            status = .disconnected
            isActive = false
            return [.connectError(SocketIOClientError(
                .refused, "the server answered CONNECT without a session id (a Socket.IO v2 server?)"))]
        }
        let newPrivateID = data?["pid"]?.stringValue
        recovered = newPrivateID != nil && newPrivateID == privateID
        privateID = newPrivateID
        // Offsets belong to the session they came from.
        if !recovered { lastOffset = nil }
        status = .connected(id: id)
        // The offline buffer leaves before the application hears of the connection, as in
        // socket.io-client, so that what it emits then comes after.
        var actions: [Action] = offline.map { .send($0.packet) }
        for buffered in offline { if let ackID = buffered.packet.id { pendingAcks[ackID]?.sent = true } }
        offline.removeAll()
        actions.append(.connected(id: id, privateID: newPrivateID, recovered: recovered))
        return actions
    }

    static func refusal(_ data: SocketIOValue?) -> SocketIOClientError {
        // v5: {"message": "...", "data": ...}; older servers send a bare string.
        if let message = data?.stringValue {
            return SocketIOClientError(.refused, message)
        }
        let message = data?["message"]?.stringValue ?? "the server refused the connection"
        return SocketIOClientError(.refused, message, data: data?["data"])
    }

    // MARK: Emitting

    /// An emit from the application. Returns the ack id (when `wantsAck`) and the actions.
    mutating func emit(
        _ event: String, arguments: [SocketIOValue], wantsAck: Bool, ackTimeout: TimeAmount?, volatile: Bool,
        writable: Bool, now: NIODeadline
    ) -> (ackID: Int?, actions: [Action]) {
        var packet = SocketIOPacket(type: .event, namespace: namespace, data: .array([.string(event)] + arguments))
        var ackID: Int?
        if wantsAck {
            ackID = nextAckID
            packet.id = nextAckID
            nextAckID += 1
        }
        let dropped = SocketIOClientDroppedEmit(event: event, arguments: arguments, reason: .volatile)
        if volatile, !(isConnected && writable) {
            droppedCount += 1
            return (ackID, [.dropped(dropped, ackID: ackID)] + (ackID.map { [.ackFailed(id: $0, Self.dropError)] } ?? []))
        }
        if let ackID { pendingAcks[ackID] = (ackTimeout.map { now + $0 }, isConnected) }
        if isConnected { return (ackID, [.send(packet)]) }
        return (ackID, buffer(packet, event: event, arguments: arguments))
    }

    private static let dropError = SocketIOClientError(.dropped, "the emit was dropped before it was sent")

    private mutating func buffer(_ packet: SocketIOPacket, event: String, arguments: [SocketIOValue]) -> [Action] {
        guard offline.count >= offlineLimits.maximumPackets else {
            offline.append(Buffered(packet: packet))
            return []
        }
        droppedCount += 1
        let victim: SocketIOPacket
        if offlineLimits.overflow == .dropOldest, !offline.isEmpty {
            victim = offline.removeFirst().packet
            offline.append(Buffered(packet: packet))
        } else {
            victim = packet
        }
        var victimArguments = victim.data?.arrayValue ?? []
        let name = victimArguments.isEmpty ? event : (victimArguments.removeFirst().stringValue ?? event)
        var actions: [Action] = [
            .dropped(SocketIOClientDroppedEmit(event: name, arguments: victimArguments, reason: .offlineBufferFull),
                ackID: victim.id)
        ]
        if let id = victim.id, pendingAcks.removeValue(forKey: id) != nil {
            actions.append(.ackFailed(id: id, Self.dropError))
        }
        return actions
    }

    /// The application answers an ack request of the server.
    func ackPacket(id: Int, arguments: [SocketIOValue]) -> SocketIOPacket? {
        guard isConnected else { return nil }
        return SocketIOPacket(type: .ack, namespace: namespace, id: id, data: .array(arguments))
    }

    /// The application stopped waiting for an ack (its task was cancelled).
    mutating func forgetAck(id: Int) {
        pendingAcks.removeValue(forKey: id)
    }

    /// Fails the acks whose EVENT was sent; those still in the offline buffer keep waiting.
    private mutating func failSentAcks(_ error: SocketIOClientError) -> [Action] {
        let sent = pendingAcks.filter { $0.value.sent }.keys.sorted()
        for id in sent { pendingAcks.removeValue(forKey: id) }
        return sent.map { .ackFailed(id: $0, error) }
    }

    // MARK: Time

    mutating func tick(now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        if case .connecting(let deadline) = status, deadline <= now {
            status = .disconnected
            isActive = false
            actions.append(.connectError(SocketIOClientError(
                .timeout, "the server did not answer the CONNECT to \(namespace) in time")))
        }
        let expired = pendingAcks.filter { $0.value.deadline.map { $0 <= now } ?? false }.keys.sorted()
        for id in expired {
            pendingAcks.removeValue(forKey: id)
            offline.removeAll { $0.packet.id == id }
            actions.append(.ackFailed(id: id, SocketIOClientError(.ackTimeout, "no acknowledgement in time")))
        }
        return actions
    }
}
