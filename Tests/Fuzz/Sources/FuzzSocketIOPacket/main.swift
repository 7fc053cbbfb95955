import CanalSocketIOCore
import FuzzSupport
import NIOCore

// Socket.IO v5 packets from a peer: the text packet (type, attachments, namespace, ack id,
// JSON payload), then, for a binary packet, attachments; and the JSON reader alone. A
// packet that decodes must encode to one that decodes to the same packet.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSocketIOPacket(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = FuzzInput(start, count)
    let chunks = input.chunks
    var decoder = SocketIOPacketDecoder()
    for chunk in chunks {
        let bytes = ByteBuffer(bytes: chunk)
        let packet: SocketIOPacket?
        if decoder.isAwaitingAttachments {
            packet = try? decoder.decode(binary: bytes)
        } else {
            packet = try? decoder.decode(text: bytes)
        }
        if let packet { checkRoundTrip(packet) }
    }
    if let value = try? SocketIOJSON.parse(ByteBuffer(bytes: input.bytes), maxDepth: 16) {
        var buffer = ByteBuffer()
        SocketIOJSON.write(value, into: &buffer)
        fuzzCheck((try? SocketIOJSON.parse(buffer, maxDepth: 16)) == value, "JSON does not round-trip")
    }
    return 0
}

/// Encodes `packet` (text part and attachments) and decodes it again.
func checkRoundTrip(_ packet: SocketIOPacket) {
    var text = ByteBuffer()
    let attachments = SocketIOPacketEncoder.encode(packet, into: &text)
    var decoder = SocketIOPacketDecoder(limits: SocketIODecoderLimits(maxAttachments: 1000, maxDepth: 1000))
    var decoded: SocketIOPacket?
    do {
        decoded = try decoder.decode(text: text)
        for attachment in attachments { decoded = try decoder.decode(binary: attachment) }
    } catch {
        fuzzCheck(false, "our encoding of \(packet) does not decode: \(error)")
    }
    fuzzCheck(decoded == packet, "packet does not round-trip: \(packet) became \(String(describing: decoded))")
}

@_cdecl("FuzzSocketIOPacket_main")
public func fuzzSocketIOPacketMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        fuzzSocketIOPacket(data.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)!, size)
    }
}
