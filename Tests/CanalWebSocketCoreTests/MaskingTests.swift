import NIOCore
import Testing

@testable import CanalWebSocketCore

/// RFC 6455 §5.3: client-to-server masking.
@Suite("§5.3 masking")
struct MaskingTests {
    static func apply(_ key: WebSocketMaskingKey, to bytes: [UInt8], phase: Int = 0) -> [UInt8] {
        var copy = bytes
        copy.withUnsafeMutableBytes { key.apply(to: $0, phase: phase) }
        return copy
    }

    static func sample(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
    }

    @Test
    func maskingRFCExampleHelloGivesTheRFCBytes() {
        // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
        #expect(Self.apply(testMaskingKey, to: utf8("Hello")) == hex("7f 9f 4d 51 58"))
        #expect(Self.apply(testMaskingKey, to: hex("7f 9f 4d 51 58")) == utf8("Hello"))
    }

    @Test(arguments: 0...40)
    func maskingEveryLengthMatchesTheNaiveReference(_ length: Int) {
        let bytes = Self.sample(length)
        let key = WebSocketMaskingKey(0x01, 0x80, 0xFE, 0x5A)
        let keyBytes: [UInt8] = [0x01, 0x80, 0xFE, 0x5A]
        for phase in 0..<4 {
            #expect(Self.apply(key, to: bytes, phase: phase) == naiveMask(bytes, key: keyBytes, phase: phase))
        }
    }

    @Test(arguments: [0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 40])
    func maskingInTwoPiecesWithPhaseEqualsMaskingWhole(_ length: Int) {
        let bytes = Self.sample(length)
        let whole = Self.apply(testMaskingKey, to: bytes)
        for split in 0...length {
            let first = Self.apply(testMaskingKey, to: Array(bytes[..<split]))
            let second = Self.apply(testMaskingKey, to: Array(bytes[split...]), phase: split & 3)
            #expect(first + second == whole, "split at \(split)")
        }
    }

    @Test
    func maskingByteByByteWithPhaseEqualsMaskingWhole() {
        let bytes = Self.sample(40)
        let pieces = bytes.indices.flatMap { Self.apply(testMaskingKey, to: [bytes[$0]], phase: $0 & 3) }
        #expect(pieces == Self.apply(testMaskingKey, to: bytes))
    }

    @Test(arguments: 0..<8)
    func maskingAtAnUnalignedAddressMatchesTheNaiveReference(_ offset: Int) {
        var storage = [UInt8](repeating: 0xCC, count: offset) + Self.sample(37) + [0xDD, 0xDD]
        storage.withUnsafeMutableBytes { raw in
            testMaskingKey.apply(to: UnsafeMutableRawBufferPointer(rebasing: raw[offset..<(offset + 37)]))
        }
        #expect(storage[..<offset].allSatisfy { $0 == 0xCC })
        #expect(Array(storage[offset..<(offset + 37)]) == naiveMask(Self.sample(37), key: testMaskingKeyBytes))
        #expect(storage.suffix(2) == [0xDD, 0xDD])
    }

    @Test
    func maskingTwiceRestoresThePayload() {
        let bytes = Self.sample(1000)
        for phase in 0..<4 {
            let masked = Self.apply(testMaskingKey, to: bytes, phase: phase)
            #expect(masked != bytes)
            #expect(Self.apply(testMaskingKey, to: masked, phase: phase) == bytes)
        }
    }

    @Test
    func maskingWithZeroKeyChangesNothing() {
        let bytes = Self.sample(29)
        #expect(Self.apply(WebSocketMaskingKey(0, 0, 0, 0), to: bytes) == bytes)
    }

    @Test
    func maskingEmptyBufferDoesNothing() {
        testMaskingKey.apply(to: UnsafeMutableRawBufferPointer(start: nil, count: 0))
        #expect(Self.apply(testMaskingKey, to: [], phase: 3) == [])
    }

    struct FixedGenerator: RandomNumberGenerator {
        var value: UInt64
        mutating func next() -> UInt64 { value }
    }

    @Test
    func maskingKeyRandomDrawsFromTheInjectedGenerator() {
        var first = FixedGenerator(value: 0x0123_4567_89AB_CDEF)
        var again = FixedGenerator(value: 0x0123_4567_89AB_CDEF)
        var other = FixedGenerator(value: 0xFEDC_BA98_7654_3210)
        let key = WebSocketMaskingKey.random(using: &first)
        #expect(key == WebSocketMaskingKey.random(using: &again))
        #expect(key != WebSocketMaskingKey.random(using: &other))
    }

    @Test
    func maskingKeySystemRandomKeysDiffer() {
        // 32 draws of 32 bits all equal would mean the generator is broken.
        let keys = Set((0..<32).map { _ in WebSocketMaskingKey.random() })
        #expect(keys.count > 1)
    }

    @Test
    func maskingKeyEqualityAndHashingUseAllFourBytes() {
        let key = WebSocketMaskingKey(1, 2, 3, 4)
        #expect(key == WebSocketMaskingKey(1, 2, 3, 4))
        for index in 0..<4 {
            var bytes: [UInt8] = [1, 2, 3, 4]
            bytes[index] ^= 0xFF
            #expect(key != WebSocketMaskingKey(bytes[0], bytes[1], bytes[2], bytes[3]))
        }
        #expect(Set([key, WebSocketMaskingKey(1, 2, 3, 4)]).count == 1)
    }
}
