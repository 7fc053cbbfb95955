/// Validates UTF-8 incrementally, one chunk at a time, so that a text message split
/// across frames and TCP reads fails as soon as the first bad byte arrives
/// (RFC 6455 §8.1: "fail fast").
///
/// The accepted sequences are those of the Unicode Standard, Table 3-7: no overlong
/// forms, no surrogates (U+D800-U+DFFF), nothing above U+10FFFF.
public struct UTF8Validator: Sendable {
    /// Continuation bytes still expected for the current scalar.
    private var remaining: UInt8 = 0
    /// Bounds for the next continuation byte; narrower than 0x80...0xBF right after
    /// E0, ED, F0 and F4.
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    public init() {}

    /// True when the bytes seen so far end on a scalar boundary.
    public var isComplete: Bool { remaining == 0 }

    /// Feeds `bytes`; returns false at the first invalid byte. Once it has returned
    /// false the validator's state is meaningless until `reset()`.
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index < count {
            if remaining == 0 {
                // Fast path: skip ASCII eight bytes at a time.
                while index + 8 <= count {
                    let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    if word & 0x8080_8080_8080_8080 != 0 { break }
                    index += 8
                }
                guard index < count else { return true }
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                index += 1
                switch byte {
                case 0x00...0x7F:
                    continue
                case 0xC2...0xDF:
                    remaining = 1
                    lower = 0x80
                    upper = 0xBF
                case 0xE0:
                    remaining = 2
                    lower = 0xA0
                    upper = 0xBF
                case 0xE1...0xEC, 0xEE...0xEF:
                    remaining = 2
                    lower = 0x80
                    upper = 0xBF
                case 0xED:
                    // Excludes the surrogates U+D800-U+DFFF.
                    remaining = 2
                    lower = 0x80
                    upper = 0x9F
                case 0xF0:
                    remaining = 3
                    lower = 0x90
                    upper = 0xBF
                case 0xF1...0xF3:
                    remaining = 3
                    lower = 0x80
                    upper = 0xBF
                case 0xF4:
                    // Nothing above U+10FFFF.
                    remaining = 3
                    lower = 0x80
                    upper = 0x8F
                default:
                    // 0x80-0xC1 (stray continuation or overlong lead) and 0xF5-0xFF.
                    return false
                }
            } else {
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                index += 1
                guard byte >= lower && byte <= upper else { return false }
                remaining -= 1
                lower = 0x80
                upper = 0xBF
            }
        }
        return true
    }

    /// Convenience for byte collections.
    public mutating func validate<Bytes: Sequence>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            validate(UnsafeRawBufferPointer(buffer))
        }
        if let result { return result }
        let array = Array(bytes)
        return array.withUnsafeBytes { validate($0) }
    }

    /// Starts over for a new message.
    public mutating func reset() {
        remaining = 0
        lower = 0x80
        upper = 0xBF
    }
}
