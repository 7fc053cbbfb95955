/// The bytes libFuzzer hands a target, cut into reads at places the input itself chooses,
/// so that every decoder also meets its input split at arbitrary points, as a socket
/// delivers it.
///
/// The first byte seeds the cuts: 0 delivers the rest in one read, 1 byte by byte, any
/// other value reads of pseudo-random sizes between 1 and 4 × that value.
public struct FuzzInput {
    public let bytes: [UInt8]
    public let mode: UInt8

    public init(_ start: UnsafeRawPointer, _ count: Int) {
        let all = Array(UnsafeRawBufferPointer(start: start, count: count))
        mode = all.first ?? 0
        bytes = Array(all.dropFirst())
    }

    /// The payload (all but the first byte) in reads.
    public var chunks: [ArraySlice<UInt8>] {
        guard !bytes.isEmpty else { return [] }
        switch mode {
        case 0:
            return [bytes[...]]
        case 1:
            return bytes.indices.map { bytes[$0...$0] }
        default:
            var state = UInt32(mode) &* 2_654_435_761
            var result: [ArraySlice<UInt8>] = []
            var offset = 0
            while offset < bytes.count {
                state ^= state << 13
                state ^= state >> 17
                state ^= state << 5
                let size = 1 + Int(state % (4 * UInt32(mode)))
                let end = min(bytes.count, offset + size)
                result.append(bytes[offset..<end])
                offset = end
            }
            return result
        }
    }

    /// The "Name: value" lines after the first, as an HTTP parser hands them over: names of
    /// ASCII token characters only (NIOHTTP1 refuses anything else before we see it, and
    /// `HTTPHeaders.add` requires it).
    public var headerFields: [(name: String, value: String)] {
        lines.dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon]
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                return nil
            }
            return (String(name), String(line[line.index(after: colon)...]))
        }
    }

    /// The payload as text lines (CRLF or LF), for the targets that read header-like input.
    public var lines: [String] {
        String(decoding: bytes, as: UTF8.self)
            .split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
    }
}

/// Stops the run when an invariant of the code under test does not hold: libFuzzer saves
/// the input that did it as a crash.
public func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        fatalError("fuzz invariant: \(message())")
    }
}
