// canal-redis-wire: CanalSocketIORedis's wire format as a JSON-lines filter, for the
// Python checks against PyPI's msgpack and json (Tests/cluster/test_wire_format.py).
//   {"op":"msgpack-encode","value":V}                 -> {"ok":true,"hex":"..."}
//   {"op":"msgpack-decode","hex":"..."}               -> {"ok":true,"value":V}
//   {"op":"message-encode","message":{"uid","nsp","type","data"?}}
//                                                      -> {"ok":true,"fields":{"uid":"..","nsp":"..","type":"..","data":".."}}
//   {"op":"message-decode","fields":{...}}            -> {"ok":true,"message":{...}}
//   {"op":"session-encode","session":{"sid","pid","rooms","data"}} -> {"ok":true,"value":"<base64>"}
//   {"op":"session-decode","value":"<base64>"}        -> {"ok":true,"session":{...}}
// A binary value is written as {"$binary":"hex"} both ways; failures are {"ok":false,"error":"..."}.
import CanalSocketIO
import CanalSocketIOCore
import CanalSocketIORedis
import Foundation
import NIOCore

func hex(_ bytes: ByteBuffer) -> String {
    bytes.readableBytesView.map { String(format: "%02x", $0) }.joined()
}

func unhex(_ text: String) -> ByteBuffer? {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var out = ByteBuffer()
    var index = 0
    while index < digits.count {
        guard let byte = UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16) else { return nil }
        out.writeInteger(byte)
        index += 2
    }
    return out
}

func fromWire(_ value: SocketIOValue) -> SocketIOValue {
    switch value {
    case .array(let elements): return .array(elements.map(fromWire))
    case .object(let object):
        if object.count == 1, let text = object["$binary"]?.stringValue, let bytes = unhex(text) { return .binary(bytes) }
        return .object(SocketIOObject(object.map { ($0.0, fromWire($0.1)) }))
    default: return value
    }
}

func toWire(_ value: SocketIOValue) -> SocketIOValue {
    switch value {
    case .array(let elements): return .array(elements.map(toWire))
    case .object(let object): return .object(SocketIOObject(object.map { ($0.0, toWire($0.1)) }))
    case .binary(let bytes): return ["$binary": .string(hex(bytes))]
    default: return value
    }
}

func failure(_ message: String) -> SocketIOValue { ["ok": false, "error": .string(message)] }

func answer(_ line: String) -> SocketIOValue {
    let request: SocketIOValue
    do { request = try SocketIOJSON.parse(line) } catch { return failure("bad request: \(error)") }
    switch request["op"]?.stringValue {
    case "msgpack-encode":
        guard let value = request["value"] else { return failure("no value") }
        return ["ok": true, "hex": .string(hex(MessagePack.encode(fromWire(value))))]
    case "msgpack-decode":
        guard let bytes = request["hex"]?.stringValue.flatMap(unhex) else { return failure("bad hex") }
        do { return ["ok": true, "value": toWire(try MessagePack.decode(bytes))] } catch { return failure("\(error)") }
    case "message-encode":
        guard let message = request["message"], let uid = message["uid"]?.stringValue,
            let nsp = message["nsp"]?.stringValue, let number = message["type"]?.intValue,
            let type = SocketIOClusterMessageType(rawValue: number)
        else { return failure("bad message") }
        let encoded = SocketIOClusterMessage(uid: uid, namespace: nsp, type: type, data: message["data"].map(fromWire))
        var fields = SocketIOObject()
        for (name, bytes) in encoded.streamFields { fields[name] = .string(String(buffer: bytes)) }
        return ["ok": true, "fields": .object(fields)]
    case "message-decode":
        guard let object = request["fields"]?.objectValue else { return failure("no fields") }
        let fields = object.compactMap { name, value in value.stringValue.map { (name, ByteBuffer(string: $0)) } }
        do {
            let message = try SocketIOClusterMessage(streamFields: fields)
            var out: SocketIOObject = [
                "uid": .string(message.uid), "nsp": .string(message.namespace),
                "type": .number(SocketIONumber(message.type.rawValue)),
            ]
            if let data = message.data { out["data"] = toWire(data) }
            return ["ok": true, "message": .object(out)]
        } catch {
            return failure("\(error)")
        }
    case "session-encode":
        guard let session = request["session"], let sid = session["sid"]?.stringValue, let pid = session["pid"]?.stringValue
        else { return failure("bad session") }
        let snapshot = SocketIOSessionSnapshot(
            id: sid, privateID: pid, rooms: Set((session["rooms"]?.arrayValue ?? []).compactMap(\.stringValue)),
            data: session["data"].map(fromWire) ?? .null)
        let bytes = SocketIOClusterData.session(snapshot)
        return ["ok": true, "value": .string(Data(bytes.readableBytesView).base64EncodedString())]
    case "session-decode":
        guard let text = request["value"]?.stringValue, let raw = Data(base64Encoded: text),
            let snapshot = SocketIOClusterData.session(ByteBuffer(bytes: raw))
        else { return failure("not a session") }
        return [
            "ok": true,
            "session": [
                "sid": .string(snapshot.id), "pid": .string(snapshot.privateID),
                "rooms": .array(snapshot.rooms.union([snapshot.id]).sorted().map { .string($0) }), "data": toWire(snapshot.data),
            ],
        ]
    default:
        return failure("unknown op")
    }
}

while let line = readLine(strippingNewline: true) {
    if line.isEmpty { continue }
    print(SocketIOJSON.string(answer(line)))
}
