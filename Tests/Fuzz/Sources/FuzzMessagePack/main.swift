import CanalSocketIOCore
import CanalSocketIORedis
import FuzzSupport
import NIOCore

// What other servers of a cluster put in Redis: MessagePack values (ours or the Node
// adapter's) and stream entries whose fields carry them. A value that decodes must encode
// to bytes that decode to the same value; an entry is read or refused, never a crash.

let limits = MessagePack.Limits(maxDepth: 16, maxContainerLength: 4096)
let fieldNames = ["uid", "nsp", "type", "data"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessagePack(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = FuzzInput(start, count)
    if let value = try? MessagePack.decode(ByteBuffer(bytes: input.bytes), limits: limits) {
        let again = try? MessagePack.decode(MessagePack.encode(value), limits: MessagePack.Limits(maxDepth: 64))
        fuzzCheck(again == value, "\(value) does not round-trip")
    }
    // The input's lines as the fields of a stream entry, in the order uid, nsp, type, data;
    // the last line's bytes also go in raw as a binary data field.
    let lines = input.lines
    var fields = zip(fieldNames, lines).map { ($0, ByteBuffer(string: $1)) }
    _ = try? SocketIOClusterMessage(streamFields: fields)
    if fields.count == 4 {
        fields[3].1 = ByteBuffer(bytes: input.bytes.suffix(from: input.bytes.count / 2))
        _ = try? SocketIOClusterMessage(streamFields: fields)
    }
    return 0
}

@_cdecl("FuzzMessagePack_main")
public func fuzzMessagePackMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        fuzzMessagePack(data.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)!, size)
    }
}
