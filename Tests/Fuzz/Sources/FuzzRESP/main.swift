import CanalRedis
import FuzzSupport
import NIOCore

// RESP2 replies from a Redis server (or from whatever answers on its port): the incremental
// decoder fed in the input's chunks. Chunking must not change what is decoded, and every
// value decoded must encode to bytes that decode to the same value.

let limits = RESPDecoderLimits(maxBulkLength: 1 << 16, maxArrayLength: 1024, maxDepth: 8, maxLineLength: 1024)

/// The values decoded from `chunks` in order, and whether the decoder failed.
func decodeAll(_ chunks: [ArraySlice<UInt8>]) -> (values: [RESPValue], failed: Bool) {
    var decoder = RESPDecoder(limits: limits)
    var values: [RESPValue] = []
    for chunk in chunks {
        decoder.feed(ByteBuffer(bytes: chunk))
        do {
            while let value = try decoder.next() { values.append(value) }
        } catch {
            return (values, true)
        }
    }
    return (values, false)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESP(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = FuzzInput(start, count)
    let whole = decodeAll([input.bytes[...]])
    let chunked = decodeAll(input.chunks)
    fuzzCheck(
        chunked.values == whole.values && chunked.failed == whole.failed,
        "chunks change the result: \(chunked) against \(whole)")
    for value in whole.values {
        var bytes = ByteBuffer()
        RESPEncoder.encode(value, into: &bytes)
        var decoder = RESPDecoder()
        decoder.feed(bytes)
        fuzzCheck((try? decoder.next()) == .some(value), "\(value) does not round-trip")
        fuzzCheck(decoder.bufferedBytes == 0, "\(value) encodes to more than one value")
    }
    return 0
}

@_cdecl("FuzzRESP_main")
public func fuzzRESPMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        fuzzRESP(data.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)!, size)
    }
}
