// canal-sio-codec: reads JSON-lines requests on stdin, answers one JSON line each.
//   {"op":"encode","packet":{"type":2,"nsp":"/","id":1,"data":...}}
//       -> {"ok":true,"text":"...","attachments":["hex",...]}
//   {"op":"decode","text":"...","attachments":["hex",...]}
//       -> {"ok":true,"packet":{...}} | {"ok":false,"error":"..."}
// In "data", a binary value is written as {"$binary":"hex"} both ways.
import CanalSocketIOCore
import Foundation
import NIOCore

func hex(_ b: ByteBuffer) -> String {
    b.readableBytesView.map { String(format: "%02x", $0) }.joined()
}

func unhex(_ s: String) -> ByteBuffer? {
    let u = Array(s.utf8)
    guard u.count % 2 == 0 else { return nil }
    var out = ByteBuffer()
    var i = 0
    while i < u.count {
        guard let v = UInt8(String(decoding: u[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
        out.writeInteger(v)
        i += 2
    }
    return out
}

/// {"$binary":"hex"} -> .binary
func fromWire(_ v: SocketIOValue) -> SocketIOValue {
    switch v {
    case .array(let a): return .array(a.map(fromWire))
    case .object(let o):
        if o.count == 1, let h = o["$binary"]?.stringValue, let b = unhex(h) { return .binary(b) }
        return .object(SocketIOObject(o.map { ($0.0, fromWire($0.1)) }))
    default: return v
    }
}

func toWire(_ v: SocketIOValue) -> SocketIOValue {
    switch v {
    case .array(let a): return .array(a.map(toWire))
    case .object(let o): return .object(SocketIOObject(o.map { ($0.0, toWire($0.1)) }))
    case .binary(let b): return ["$binary": .string(hex(b))]
    default: return v
    }
}

func answer(_ line: String) -> SocketIOValue {
    let req: SocketIOValue
    do { req = try SocketIOJSON.parse(line) } catch { return ["ok": false, "error": .string("bad request: \(error)")] }
    switch req["op"]?.stringValue {
    case "encode":
        guard let p = req["packet"], let t = p["type"]?.intValue, let type = SocketIOPacketType(rawValue: UInt8(clamping: t)) else {
            return ["ok": false, "error": "bad packet"]
        }
        let packet = SocketIOPacket(
            type: type, namespace: p["nsp"]?.stringValue ?? "/", id: p["id"]?.intValue,
            data: p["data"].map(fromWire))
        var b = ByteBuffer()
        let att = SocketIOPacketEncoder.encode(packet, into: &b)
        return ["ok": true, "text": .string(String(buffer: b)), "attachments": .array(att.map { .string(hex($0)) })]
    case "decode":
        guard let text = req["text"]?.stringValue else { return ["ok": false, "error": "no text"] }
        var d = SocketIOPacketDecoder()
        do {
            var result = try d.decode(text: ByteBuffer(string: text))
            for a in req["attachments"]?.arrayValue ?? [] {
                guard let b = a.stringValue.flatMap(unhex) else { return ["ok": false, "error": "bad hex"] }
                result = try d.decode(binary: b)
            }
            guard let p = result else { return ["ok": false, "error": "incomplete: awaiting attachments"] }
            var o: SocketIOObject = ["type": .number(SocketIONumber(Int(p.type.rawValue))), "nsp": .string(p.namespace)]
            if let id = p.id { o["id"] = .number(SocketIONumber(id)) }
            if let data = p.data { o["data"] = toWire(data) }
            return ["ok": true, "packet": .object(o)]
        } catch {
            return ["ok": false, "error": .string(error.message)]
        }
    default:
        return ["ok": false, "error": "unknown op"]
    }
}

while let line = readLine(strippingNewline: true) {
    if line.isEmpty { continue }
    var out = ByteBuffer()
    SocketIOJSON.write(answer(line), into: &out)
    out.writeInteger(UInt8(ascii: "\n"))
    FileHandle.standardOutput.write(Data(out.readableBytesView))
}
