import CanalEngineIOCore
import FuzzSupport
import NIOCore

// Engine.IO v4 from a peer: long-polling bodies (packets joined by 0x1e, base64 binary),
// single WebSocket packets, and the classification of a request's method and query. A body
// that decodes must encode back to one that decodes to the same packets.

let configuration = EngineConfiguration()
let methods = ["GET", "POST", "PUT", "OPTIONS"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnginePayload(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = FuzzInput(start, count)
    let body = ByteBuffer(bytes: input.bytes)
    if let packets = try? EnginePayload.decode(body) {
        fuzzCheck(!packets.isEmpty, "a body decoded to no packet")
        let again = try? EnginePayload.decode(EnginePayload.encode(packets))
        fuzzCheck(again == packets, "packets \(packets) do not survive encoding")
    }
    if let packet = try? EnginePacket.decode(webSocketText: body) {
        fuzzCheck((try? EnginePacket.decode(webSocketText: packet.webSocketText())) == packet, "\(packet) does not round-trip")
    }
    _ = EnginePacket.decode(webSocketBinary: body)

    // The query parts a request could carry, from the input's lines.
    let lines = input.lines
    func line(_ index: Int) -> String? { index < lines.count && !lines[index].isEmpty ? lines[index] : nil }
    _ = EngineRequest.classify(
        method: methods[Int(input.mode) % methods.count],
        protocolVersion: line(0),
        transport: line(1),
        sessionID: line(2),
        isWebSocketUpgrade: input.mode & 0x10 != 0,
        configuration: configuration,
        session: { id in
            id.hasPrefix("s") ? .init(transport: id.count % 2 == 0 ? .polling : .websocket, hasWebSocket: id.count % 3 == 0) : nil
        }
    )
    return 0
}

@_cdecl("FuzzEnginePayload_main")
public func fuzzEnginePayloadMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        fuzzEnginePayload(data.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)!, size)
    }
}
