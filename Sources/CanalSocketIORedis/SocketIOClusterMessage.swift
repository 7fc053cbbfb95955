import CanalSocketIO
import CanalSocketIOCore
import Foundation
import NIOCore

/// The kinds of message Socket.IO servers of one cluster exchange, numbered as
/// socket.io-adapter's `MessageType` numbers them (its `cluster-adapter.ts`): the numbers
/// are on the wire.
public enum SocketIOClusterMessageType: Int, Sendable, Hashable, CaseIterable {
    case initialHeartbeat = 1
    case heartbeat = 2
    case broadcast = 3
    case socketsJoin = 4
    case socketsLeave = 5
    case disconnectSockets = 6
    case fetchSockets = 7
    case fetchSocketsResponse = 8
    case serverSideEmit = 9
    case serverSideEmitResponse = 10
    case broadcastClientCount = 11
    case broadcastAck = 12
    case adapterClose = 13

    /// The types whose data may hold binary attachments: those are sent as base64
    /// MessagePack when they do (the streams adapter's `encode`).
    var mayContainBinary: Bool {
        switch self {
        case .broadcast, .fetchSocketsResponse, .serverSideEmit, .serverSideEmitResponse, .broadcastAck: return true
        case .initialHeartbeat, .heartbeat, .socketsJoin, .socketsLeave, .disconnectSockets, .fetchSockets,
            .broadcastClientCount, .adapterClose:
            return false
        }
    }
}

/// One message between the servers of a cluster, as one entry of the Redis stream written
/// by `@socket.io/redis-streams-adapter` 0.2: four fields, all strings.
///
/// | field | value |
/// | --- | --- |
/// | `uid` | the sending server's id: 16 hex digits (8 random bytes); `emitter` for an emitter |
/// | `nsp` | the namespace, such as `/` or `/admin` |
/// | `type` | the `SocketIOClusterMessageType` number in decimal, such as `3` |
/// | `data` | absent for heartbeats and `adapterClose`; else JSON text (it starts with `{`), or, when the data holds binary and the type may carry it, the base64 of its MessagePack |
public struct SocketIOClusterMessage: Sendable, Hashable {
    public var uid: String
    public var namespace: String
    public var type: SocketIOClusterMessageType
    public var data: SocketIOValue?

    public init(uid: String, namespace: String, type: SocketIOClusterMessageType, data: SocketIOValue? = nil) {
        self.uid = uid
        self.namespace = namespace
        self.type = type
        self.data = data
    }

    /// The stream entry's fields, in the streams adapter's order.
    public var streamFields: [(String, ByteBuffer)] {
        var fields: [(String, ByteBuffer)] = [
            ("uid", ByteBuffer(string: uid)), ("nsp", ByteBuffer(string: namespace)),
            ("type", ByteBuffer(string: String(type.rawValue))),
        ]
        if let data {
            if type.mayContainBinary, data.containsBinary {
                fields.append(("data", ByteBuffer(string: Data(MessagePack.encode(data).readableBytesView).base64EncodedString())))
            } else {
                var json = ByteBuffer()
                SocketIOJSON.write(data, into: &json)
                fields.append(("data", json))
            }
        }
        return fields
    }

    /// Reads an entry; throws for one that is not a cluster message (which the adapter skips).
    public init(streamFields fields: [(String, ByteBuffer)]) throws(SocketIOClusterFormatError) {
        func field(_ name: String) -> ByteBuffer? { fields.first { $0.0 == name }?.1 }
        guard let uid = field("uid").map({ String(buffer: $0) }) else { throw .init("no uid") }
        guard let namespace = field("nsp").map({ String(buffer: $0) }) else { throw .init("no nsp") }
        guard let typeText = field("type").map({ String(buffer: $0) }), let number = Int(typeText),
            let type = SocketIOClusterMessageType(rawValue: number)
        else { throw .init("unknown type") }
        self.init(uid: uid, namespace: namespace, type: type)
        guard let raw = field("data"), raw.readableBytes > 0 else { return }
        if raw.readableBytesView.first == UInt8(ascii: "{") {
            do { data = try SocketIOJSON.parse(raw) } catch { throw .init("data: \(error)") }
        } else {
            guard let bytes = Data(base64Encoded: String(buffer: raw)) else { throw .init("data is neither JSON nor base64") }
            do { data = try MessagePack.decode(ByteBuffer(bytes: bytes)) } catch { throw .init("data: \(error)") }
        }
    }
}

/// A stream entry that is not a cluster message.
public struct SocketIOClusterFormatError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    init(_ message: String) { self.message = message }
    public var description: String { "not a Socket.IO cluster message: \(message)" }
}

/// How packets, broadcast options and sockets appear inside a message's `data`, as the
/// official server's objects serialize.
public enum SocketIOClusterData {
    /// `{"type":2,"data":[event, ...args],"nsp":"/"}`, with `"id"` for a packet expecting acks.
    public static func packet(_ packet: SocketIOPacket) -> SocketIOValue {
        var object: SocketIOObject = ["type": .number(SocketIONumber(Int(packet.type.rawValue)))]
        if let data = packet.data { object["data"] = data }
        object["nsp"] = .string(packet.namespace)
        if let id = packet.id { object["id"] = .number(SocketIONumber(id)) }
        return .object(object)
    }

    /// An EVENT packet from its object form (a BINARY_EVENT, 5, is an event too: the encoder
    /// picks the binary form again from the data).
    public static func packet(_ value: SocketIOValue?) -> SocketIOPacket? {
        guard let object = value?.objectValue, let type = object["type"]?.intValue,
            type == Int(SocketIOPacketType.event.rawValue) || type == Int(SocketIOPacketType.binaryEvent.rawValue),
            case .array? = object["data"]
        else { return nil }
        return SocketIOPacket(
            type: .event, namespace: object["nsp"]?.stringValue ?? "/", id: object["id"]?.intValue, data: object["data"])
    }

    /// `{"rooms":[...],"except":[...],"flags":{...}}`; `local` never travels.
    public static func options(_ options: SocketIOBroadcastOptions, timeout: TimeAmount? = nil) -> SocketIOValue {
        var flags = SocketIOObject()
        if options.flags.volatile { flags["volatile"] = true }
        if !options.flags.compress { flags["compress"] = false }
        if let timeout { flags["timeout"] = .number(SocketIONumber(Int(timeout.nanoseconds / 1_000_000))) }
        return [
            "rooms": .array(options.rooms.sorted().map { .string($0) }),
            "except": .array(options.except.sorted().map { .string($0) }),
            "flags": .object(flags),
        ]
    }

    public static func options(_ value: SocketIOValue?) -> SocketIOBroadcastOptions {
        func strings(_ key: String) -> Set<String> {
            Set((value?[key]?.arrayValue ?? []).compactMap(\.stringValue))
        }
        let flags = value?["flags"]
        return SocketIOBroadcastOptions(
            rooms: strings("rooms"), except: strings("except"),
            flags: .init(volatile: flags?["volatile"]?.boolValue ?? false, compress: flags?["compress"]?.boolValue ?? true))
    }

    /// A socket in a fetch-sockets response: `{"id","handshake","rooms","data"}`.
    public static func socket(_ socket: SocketIORemoteSocket) -> SocketIOValue {
        let handshake = socket.handshake
        var headers = SocketIOObject()
        for (name, value) in handshake.headers.sorted(by: { $0.key < $1.key }) { headers[name] = .string(value) }
        var query = SocketIOObject()
        for (name, value) in handshake.query.sorted(by: { $0.key < $1.key }) { query[name] = .string(value) }
        let handshakeObject: SocketIOObject = [
            "headers": .object(headers),
            "time": .string(""),
            "address": .string(handshake.address),
            "xdomain": .bool(handshake.headers["origin"] != nil),
            "secure": false,
            "issued": .number(SocketIONumber(Int(handshake.issued))),
            "url": .string(handshake.url),
            "query": .object(query),
            "auth": handshake.auth,
        ]
        return [
            "id": .string(socket.id), "handshake": .object(handshakeObject),
            "rooms": .array(socket.rooms.sorted().map { .string($0) }), "data": socket.data,
        ]
    }

    public static func socket(_ value: SocketIOValue) -> SocketIORemoteSocket? {
        guard let id = value["id"]?.stringValue else { return nil }
        let handshake = value["handshake"]
        var headers: [String: String] = [:]
        for (name, header) in handshake?["headers"]?.objectValue ?? SocketIOObject() {
            if let text = header.stringValue { headers[name] = text }
        }
        var query: [String: String] = [:]
        for (name, parameter) in handshake?["query"]?.objectValue ?? SocketIOObject() {
            if let text = parameter.stringValue { query[name] = text }
        }
        return SocketIORemoteSocket(
            id: id, rooms: Set((value["rooms"]?.arrayValue ?? []).compactMap(\.stringValue)), data: value["data"] ?? .null,
            handshake: SocketIOHandshakeInfo(
                headers: headers, query: query, auth: handshake?["auth"] ?? .null,
                address: handshake?["address"]?.stringValue ?? "", url: handshake?["url"]?.stringValue ?? "",
                issued: Int64(handshake?["issued"]?.intValue ?? 0)))
    }

    /// A session for connection state recovery: the MessagePack of `{"sid","pid","rooms","data"}`
    /// (rooms include the socket's own id, as the official server lists them).
    public static func session(_ snapshot: SocketIOSessionSnapshot) -> ByteBuffer {
        let rooms = snapshot.rooms.union([snapshot.id]).sorted().map { SocketIOValue.string($0) }
        return MessagePack.encode([
            "sid": .string(snapshot.id), "pid": .string(snapshot.privateID), "rooms": .array(rooms), "data": snapshot.data,
        ])
    }

    public static func session(_ bytes: ByteBuffer) -> SocketIOSessionSnapshot? {
        guard let value = try? MessagePack.decode(bytes), let id = value["sid"]?.stringValue,
            let privateID = value["pid"]?.stringValue
        else { return nil }
        let rooms = Set((value["rooms"]?.arrayValue ?? []).compactMap(\.stringValue)).subtracting([id])
        return SocketIOSessionSnapshot(id: id, privateID: privateID, rooms: rooms, data: value["data"] ?? .null)
    }
}
