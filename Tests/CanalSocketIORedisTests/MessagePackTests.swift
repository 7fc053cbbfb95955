import CanalSocketIOCore
import CanalSocketIORedis
import Foundation
import NIOCore
import Testing

/// MessagePack fixtures in hex, as msgpack-python and @msgpack/msgpack write them.
@Suite struct MessagePackTests {
    static func bytes(_ hex: String) -> ByteBuffer {
        let digits = Array(hex.utf8)
        var buffer = ByteBuffer()
        var index = 0
        while index + 1 < digits.count {
            buffer.writeInteger(UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16)!)
            index += 2
        }
        return buffer
    }

    static func hex(_ buffer: ByteBuffer) -> String {
        buffer.readableBytesView.map { String(format: "%02x", $0) }.joined()
    }

    static let fixtures: [(SocketIOValue, String)] = [
        (.null, "c0"), (true, "c3"), (false, "c2"),
        (0, "00"), (127, "7f"), (128, "cc80"), (255, "ccff"), (256, "cd0100"), (65535, "cdffff"),
        (65536, "ce00010000"), (4_294_967_296, "cf0000000100000000"),
        (-1, "ff"), (-32, "e0"), (-33, "d0df"), (-128, "d080"), (-129, "d1ff7f"), (-32768, "d18000"),
        (-32769, "d2ffff7fff"), (-2_147_483_649, "d3ffffffff7fffffff"),
        (1.5, "cb3ff8000000000000"), (-0.25, "cbbfd0000000000000"),
        ("", "a0"), ("a", "a161"), ("é", "a2c3a9"),
        (.string(String(repeating: "x", count: 32)), "d920" + String(repeating: "78", count: 32)),
        (.binary(ByteBuffer(bytes: [1, 2, 3])), "c403010203"),
        ([1, "a"], "9201a161"), ([], "90"),
        (["a": 1], "81a16101"), ([:], "80"),
        (["packet": ["type": 2, "data": ["e", .binary(ByteBuffer(bytes: [255]))]]],
         "81a67061636b657482a47479706502a464617461" + "92a165c401ff"),
    ]

    @Test func encoderWritesTheSmallestFormLikeTheReferenceLibraries() {
        for (value, hex) in Self.fixtures {
            #expect(Self.hex(MessagePack.encode(value)) == hex, "\(value)")
        }
    }

    @Test func decoderReadsEveryFixtureBack() throws {
        for (value, hex) in Self.fixtures {
            #expect(try MessagePack.decode(Self.bytes(hex)) == value, "\(hex)")
        }
    }

    @Test func decoderReadsFormsWeNeverWrite() throws {
        // float 32, str 16, array 16, map 16, uint 64 beyond Int64, integer map keys.
        #expect(try MessagePack.decode(Self.bytes("ca3fc00000")) == 1.5)
        #expect(try MessagePack.decode(Self.bytes("da0001" + "61")) == "a")
        #expect(try MessagePack.decode(Self.bytes("dc0001c0")) == [nil])
        #expect(try MessagePack.decode(Self.bytes("de0001a16101")) == ["a": 1])
        #expect(try MessagePack.decode(Self.bytes("cfffffffffffffffff")) == .number(SocketIONumber(literal: "18446744073709551615")!))
        #expect(try MessagePack.decode(Self.bytes("810102")) == ["1": 2])
    }

    @Test(arguments: [
        "", "c1", "d4", "c7", "a2", "c40a00", "92c0", "dd7fffffff", "81a161", "a2ff80", "c0c0", "81c0c0" + "90" + "c0",
    ])
    func decoderRefusesTruncatedOrUnsupportedBytes(hex: String) {
        #expect(throws: MessagePack.DecodingError.self) { try MessagePack.decode(Self.bytes(hex)) }
    }

    @Test func decoderRefusesNestingBeyondTheLimit() {
        let deep = String(repeating: "91", count: 70) + "c0"
        #expect(throws: MessagePack.DecodingError.self) { try MessagePack.decode(Self.bytes(deep)) }
        #expect((try? MessagePack.decode(Self.bytes(deep), limits: .init(maxDepth: 100))) != nil)
    }

    /// A fixed-seed generator, so that the random round trips are the same every run.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func randomValue(_ random: inout SplitMix, depth: Int) -> SocketIOValue {
        switch Int.random(in: 0..<(depth > 3 ? 6 : 8), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .number(SocketIONumber(Int(Int64.random(in: Int64.min...Int64.max, using: &random) >> Int.random(in: 0...63, using: &random))))
        case 3: return .number(SocketIONumber(Double.random(in: -1e6...1e6, using: &random) + 0.5))
        case 4: return .string(String((0..<Int.random(in: 0...40, using: &random)).map { _ in "aé😀\n\"x".randomElement(using: &random)! }))
        case 5: return .binary(ByteBuffer(bytes: (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }))
        case 6: return .array((0..<Int.random(in: 0...6, using: &random)).map { _ in randomValue(&random, depth: depth + 1) })
        default:
            var object = SocketIOObject()
            for index in 0..<Int.random(in: 0...6, using: &random) { object["k\(index)"] = randomValue(&random, depth: depth + 1) }
            return .object(object)
        }
    }

    @Test func randomValuesRoundTrip() throws {
        var random = SplitMix(state: 42)
        for _ in 0..<500 {
            let value = Self.randomValue(&random, depth: 0)
            #expect(try MessagePack.decode(MessagePack.encode(value)) == value)
        }
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var random = SplitMix(state: 7)
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...24, using: &random)
            let input = ByteBuffer(bytes: (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) })
            _ = try? MessagePack.decode(input)
        }
    }
}
