import Testing

@testable import CanalWebSocketCore

/// RFC 6455 §8.1 asks for valid UTF-8 as defined by RFC 3629 / the Unicode Standard, Table 3-7.
@Suite("§8.1 UTF-8 validation")
struct UTF8ValidatorTests {
    /// What a validator said after seeing some bytes.
    enum Verdict: Equatable {
        /// No bad byte, and the input ends on a scalar boundary.
        case complete
        /// No bad byte so far, but the input ends inside a scalar.
        case incomplete
        case invalid
    }

    static func verdict(_ ok: Bool, _ validator: UTF8Validator) -> Verdict {
        ok ? (validator.isComplete ? .complete : .incomplete) : .invalid
    }

    /// Validates `bytes` in one call.
    static func whole(_ bytes: [UInt8]) -> Verdict {
        var validator = UTF8Validator()
        let ok = bytes.withUnsafeBytes { validator.validate($0) }
        return verdict(ok, validator)
    }

    /// Validates `bytes` one call per byte, stopping at the first failure.
    static func byteByByte(_ bytes: [UInt8]) -> Verdict {
        var validator = UTF8Validator()
        for byte in bytes {
            let ok = [byte].withUnsafeBytes { validator.validate($0) }
            if !ok { return .invalid }
        }
        return verdict(true, validator)
    }

    /// Validates `bytes` in chunks of `size`.
    static func chunked(_ bytes: [UInt8], size: Int) -> Verdict {
        var validator = UTF8Validator()
        var start = 0
        while start < bytes.count {
            let end = min(start + size, bytes.count)
            let ok = bytes[start..<end].withUnsafeBytes { validator.validate($0) }
            if !ok { return .invalid }
            start = end
        }
        return verdict(true, validator)
    }

    /// The standard library's opinion: decoding with repair changes the bytes iff they are invalid
    /// or truncated.
    static func reference(_ bytes: [UInt8]) -> Bool {
        Array(String(decoding: bytes, as: UTF8.self).utf8) == bytes
    }

    static func expect(_ bytes: [UInt8], is expected: Verdict, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(whole(bytes) == expected, "whole: \(hexString(bytes))", sourceLocation: sourceLocation)
        #expect(byteByByte(bytes) == expected, "byte by byte: \(hexString(bytes))", sourceLocation: sourceLocation)
        for size in [2, 3, 5, 8, 9] {
            #expect(chunked(bytes, size: size) == expected, "chunks of \(size)", sourceLocation: sourceLocation)
        }
    }

    // Table 3-7, "Well-Formed UTF-8 Byte Sequences": the first and last sequence of each row.
    @Test(arguments: [
        "00", "7F",
        "C2 80", "DF BF",
        "E0 A0 80", "E0 BF BF",
        "E1 80 80", "EC BF BF",
        "ED 80 80", "ED 9F BF",
        "EE 80 80", "EF BF BF",
        "F0 90 80 80", "F0 BF BF BF",
        "F1 80 80 80", "F3 BF BF BF",
        "F4 80 80 80", "F4 8F BF BF",
    ])
    func utf8AcceptsTable37Boundaries(_ sequence: String) {
        Self.expect(hex(sequence), is: .complete)
        // The same with ASCII around it, so the eight-byte fast path runs before and after.
        Self.expect(utf8("abcdefghij") + hex(sequence) + utf8("klmnopqrstu"), is: .complete)
    }

    @Test(arguments: [
        "EF BB BF",  // U+FEFF, the byte order mark: just a character here
        "EF BF BE", "EF BF BF",  // noncharacters are still well formed
        "F4 8F BF BE",
        "CE BA E1 BD B9 CF 83 CE BC CE B5",  // κόσμε (Autobahn 6.2)
        "",
    ])
    func utf8AcceptsOtherValidText(_ sequence: String) {
        Self.expect(hex(sequence), is: .complete)
    }

    @Test(arguments: [
        // Stray continuation bytes.
        "80", "BF", "41 80",
        // Overlong two-byte forms: C0 and C1 never appear.
        "C0 80", "C0 AF", "C1 BF",
        // Overlong three-byte forms: E0 must be followed by A0-BF.
        "E0 80 80", "E0 80 AF", "E0 9F BF",
        // Overlong four-byte forms: F0 must be followed by 90-BF.
        "F0 80 80 80", "F0 80 80 AF", "F0 8F BF BF",
        // UTF-16 surrogates U+D800-U+DFFF.
        "ED A0 80", "ED AD BF", "ED AE 80", "ED B0 80", "ED BF BF", "ED A0 80 ED B0 80",
        // Above U+10FFFF.
        "F4 90 80 80", "F4 BF BF BF", "F5 80 80 80", "F7 BF BF BF",
        // Five- and six-byte forms and bytes that never occur.
        "F8 88 80 80 80", "FC 84 80 80 80 80", "FE", "FF", "FE FF",
        // A lead byte followed by something other than a continuation byte.
        "C2 41", "C2 C2 80", "E1 80 41", "E1 41 80", "F1 80 80 C0", "F1 80 41 80", "E0 A0 C0",
    ])
    func utf8RejectsIllFormedSequences(_ sequence: String) {
        Self.expect(hex(sequence), is: .invalid)
        Self.expect(utf8("0123456789") + hex(sequence) + utf8("0123456789"), is: .invalid)
    }

    @Test(arguments: ["C2", "DF", "E0", "E0 A0", "ED 9F", "EF BF", "F0", "F0 90", "F0 90 80", "F4 8F BF", "F3 BF BF"])
    func utf8TruncatedSequenceIsValidSoFarButIncomplete(_ sequence: String) {
        Self.expect(hex(sequence), is: .incomplete)
        Self.expect(utf8("some ascii first") + hex(sequence), is: .incomplete)
    }

    @Test
    func utf8FailsAtTheFirstBadByteNotLater() {
        // Fail fast (RFC 6455 §8.1): the byte that cannot start or continue a scalar fails its own call.
        var validator = UTF8Validator()
        let prefix = hex("E2 82").withUnsafeBytes { validator.validate($0) }
        let next = hex("41").withUnsafeBytes { validator.validate($0) }
        #expect(prefix)
        #expect(!next)
    }

    @Test(arguments: 0...24)
    func utf8FindsABadByteAtEveryPositionOfAnASCIIRun(_ position: Int) {
        var bytes = [UInt8](repeating: 0x61, count: 25)
        bytes[position] = 0xFF
        Self.expect(bytes, is: .invalid)
        bytes[position] = 0x80
        Self.expect(bytes, is: .invalid)
    }

    @Test(arguments: 0...20)
    func utf8AcceptsAScalarAtEveryPositionOfAnASCIIRun(_ position: Int) {
        var bytes = [UInt8](repeating: 0x61, count: 20)
        bytes.insert(contentsOf: hex("F0 9F 8C 8D"), at: position)  // 🌍
        Self.expect(bytes, is: .complete)
    }

    @Test
    func utf8ResetForgetsAnUnfinishedScalar() {
        var validator = UTF8Validator()
        let prefix = hex("F0 9F").withUnsafeBytes { validator.validate($0) }
        #expect(prefix)
        #expect(!validator.isComplete)
        validator.reset()
        #expect(validator.isComplete)
        let ascii = utf8("ok").withUnsafeBytes { validator.validate($0) }
        #expect(ascii)
        #expect(validator.isComplete)
    }

    @Test
    func utf8ResetAfterFailureStartsOver() {
        var validator = UTF8Validator()
        let overlong = hex("E0 80").withUnsafeBytes { validator.validate($0) }
        #expect(!overlong)
        validator.reset()
        let good = hex("E0 A0 80").withUnsafeBytes { validator.validate($0) }
        #expect(good)
        #expect(validator.isComplete)
    }

    @Test
    func utf8GenericSequenceOverloadAgreesWithRawBytes() {
        var contiguous = UTF8Validator()
        var lazy = UTF8Validator()
        var bad = UTF8Validator()
        let good = utf8("héllo wörld 🌍")
        let contiguousOK = contiguous.validate(good)
        let lazyOK = lazy.validate(good.lazy.map { $0 })
        let badOK = bad.validate(hex("ED A0 80").lazy.map { $0 })
        #expect(contiguousOK && lazyOK)
        #expect(contiguous.isComplete && lazy.isComplete)
        #expect(!badOK)
    }

    @Test
    func utf8BigMultilingualTextIsValidWholeByteByByteAndInChunks() {
        let piece =
            "Hello, κόσμε! Привет, мир. 你好，世界。こんにちは 🌍🚀 "
            + "שלום مرحبا नमस्ते ĀāĂă 𝄞 \u{10FFFF}\u{FFFD}"
        let bytes = utf8(String(repeating: piece, count: 500))
        #expect(bytes.count > 50_000)
        Self.expect(bytes, is: .complete)
        for size in [1, 4, 7, 8, 64, 1000, 4096] {
            #expect(Self.chunked(bytes, size: size) == .complete, "chunks of \(size)")
        }
        // Cut the last scalar short: still valid so far, but incomplete.
        Self.expect(Array(bytes.dropLast(1)), is: .incomplete)
    }

    @Test
    func utf8AllTwoByteInputsAgreeWithTheStandardLibrary() {
        for first in 0...255 {
            for second in 0...255 {
                let bytes = [UInt8(first), UInt8(second)]
                let expected = Self.reference(bytes)
                let verdict = Self.whole(bytes)
                // Two bytes can also be a valid prefix of a longer scalar, which the reference calls invalid.
                if expected {
                    #expect(verdict == .complete, "\(hexString(bytes))")
                } else {
                    #expect(verdict != .complete, "\(hexString(bytes))")
                }
                #expect(Self.byteByByte(bytes) == verdict, "\(hexString(bytes))")
            }
        }
    }

    @Test
    func utf8AllThreeByteInputsFromE0ToF4AgreeWithTheStandardLibrary() {
        for first in 0xE0...0xF4 {
            for second in 0...255 {
                for third in [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF] {
                    for fourth in [nil, 0x80, 0xBF, 0x41] as [Int?] {
                        var bytes = [UInt8(first), UInt8(second), UInt8(third)]
                        if let fourth { bytes.append(UInt8(fourth)) }
                        let verdict = Self.whole(bytes)
                        if Self.reference(bytes) {
                            #expect(verdict == .complete, "\(hexString(bytes))")
                        } else {
                            #expect(verdict != .complete, "\(hexString(bytes))")
                        }
                    }
                }
            }
        }
    }

    @Test
    func utf8RandomInputsAgreeWithTheStandardLibraryEveryWay() {
        var random = SplitMix64(state: 6455)
        // Bytes that sit on the edges of Table 3-7 turn up far more often than in uniform noise.
        let interesting: [UInt8] = [
            0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
            0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF,
        ]
        for _ in 0..<5000 {
            let count = Int.random(in: 0...24, using: &random)
            let bytes = (0..<count).map { _ in
                Bool.random(using: &random)
                    ? interesting.randomElement(using: &random)!
                    : UInt8.random(in: 0...255, using: &random)
            }
            let verdict = Self.whole(bytes)
            #expect((verdict == .complete) == Self.reference(bytes), "\(hexString(bytes))")
            #expect(Self.byteByByte(bytes) == verdict, "\(hexString(bytes))")
            #expect(Self.chunked(bytes, size: 3) == verdict, "\(hexString(bytes))")
        }
    }
}
