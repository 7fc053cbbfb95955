import NIOCore
import Testing

@testable import CanalWebSocketCore

/// RFC 6455 §5.2: the base framing protocol, header by header.
@Suite("§5.2 frame header")
struct FrameHeaderTests {
    /// What `WebSocketFrameHeader.decode` said, in a form tests can compare.
    enum Decoded: Equatable, CustomStringConvertible {
        case header(WebSocketFrameHeader, length: Int)
        case needMoreBytes
        case lengthTooLarge

        var description: String {
            switch self {
            case .header(let header, let length): return "header(\(header), length: \(length))"
            case .needMoreBytes: return "needMoreBytes"
            case .lengthTooLarge: return "lengthTooLarge"
            }
        }
    }

    static func decode<Bytes: Collection>(_ bytes: Bytes) -> Decoded where Bytes.Element == UInt8 {
        Array(bytes).withUnsafeBytes { raw in
            switch WebSocketFrameHeader.decode(raw) {
            case .header(let header, let length): return .header(header, length: length)
            case .needMoreBytes: return .needMoreBytes
            case .lengthTooLarge: return .lengthTooLarge
            }
        }
    }

    /// Feeds `bytes` whole, then every prefix (as bytes arriving one at a time would), then with
    /// trailing bytes that belong to the payload: only the whole header decodes, and never
    /// reads past itself.
    static func expectDecoding(
        _ bytes: [UInt8],
        as expected: Decoded,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(decode(bytes) == expected, "whole: \(hexString(bytes))", sourceLocation: sourceLocation)
        for count in 0..<bytes.count {
            #expect(
                decode(bytes.prefix(count)) == .needMoreBytes,
                "prefix of \(count) bytes of \(hexString(bytes))",
                sourceLocation: sourceLocation
            )
        }
        #expect(decode(bytes + [0xAA, 0xBB, 0xCC]) == expected, "with trailing bytes", sourceLocation: sourceLocation)
    }

    static func encode(_ header: WebSocketFrameHeader) -> [UInt8] {
        var buffer = ByteBuffer()
        header.write(to: &buffer)
        return buffer.bytes
    }

    struct Fixture: Sendable, CustomTestStringConvertible {
        var name: String
        var header: WebSocketFrameHeader
        var hex: String
        var testDescription: String { name }
    }

    static let key = testMaskingKey

    static let fixtures: [Fixture] = [
        Fixture(name: "empty final text", header: .init(opcode: .text, payloadLength: 0), hex: "81 00"),
        Fixture(name: "7-bit length 1", header: .init(opcode: .binary, payloadLength: 1), hex: "82 01"),
        Fixture(name: "7-bit length 125 (largest)", header: .init(opcode: .binary, payloadLength: 125), hex: "82 7D"),
        Fixture(
            name: "16-bit length 126 (smallest)", header: .init(opcode: .binary, payloadLength: 126), hex: "82 7E 00 7E"
        ),
        Fixture(name: "16-bit length 256", header: .init(opcode: .binary, payloadLength: 256), hex: "82 7E 01 00"),
        Fixture(
            name: "16-bit length 65535 (largest)",
            header: .init(opcode: .binary, payloadLength: 65535),
            hex: "82 7E FF FF"
        ),
        Fixture(
            name: "64-bit length 65536 (smallest)",
            header: .init(opcode: .binary, payloadLength: 65536),
            hex: "82 7F 00 00 00 00 00 01 00 00"
        ),
        Fixture(
            name: "64-bit length 2^32",
            header: .init(opcode: .binary, payloadLength: 1 << 32),
            hex: "82 7F 00 00 00 01 00 00 00 00"
        ),
        Fixture(
            name: "64-bit length 2^63 - 1 (largest)",
            header: .init(opcode: .binary, payloadLength: Int.max),
            hex: "82 7F 7F FF FF FF FF FF FF FF"
        ),
        Fixture(
            name: "masked 7-bit",
            header: .init(opcode: .text, maskingKey: key, payloadLength: 5),
            hex: "81 85 37 FA 21 3D"
        ),
        Fixture(
            name: "masked 16-bit",
            header: .init(opcode: .binary, maskingKey: key, payloadLength: 256),
            hex: "82 FE 01 00 37 FA 21 3D"
        ),
        Fixture(
            name: "masked 64-bit",
            header: .init(opcode: .binary, maskingKey: key, payloadLength: 65536),
            hex: "82 FF 00 00 00 00 00 01 00 00 37 FA 21 3D"
        ),
        Fixture(name: "first fragment", header: .init(fin: false, opcode: .text, payloadLength: 3), hex: "01 03"),
        Fixture(
            name: "middle continuation", header: .init(fin: false, opcode: .continuation, payloadLength: 3),
            hex: "00 03"),
        Fixture(name: "final continuation", header: .init(opcode: .continuation, payloadLength: 2), hex: "80 02"),
        Fixture(name: "RSV1", header: .init(reservedBits: 0x40, opcode: .text, payloadLength: 5), hex: "C1 05"),
        Fixture(name: "RSV2", header: .init(reservedBits: 0x20, opcode: .binary, payloadLength: 0), hex: "A2 00"),
        Fixture(name: "RSV3", header: .init(reservedBits: 0x10, opcode: .binary, payloadLength: 0), hex: "92 00"),
        Fixture(
            name: "all RSV bits, not final",
            header: .init(fin: false, reservedBits: 0x70, opcode: .text, payloadLength: 0),
            hex: "71 00"
        ),
        Fixture(name: "close", header: .init(opcode: .close, payloadLength: 2), hex: "88 02"),
        Fixture(name: "ping", header: .init(opcode: .ping, payloadLength: 0), hex: "89 00"),
        Fixture(
            name: "masked pong",
            header: .init(opcode: .pong, maskingKey: key, payloadLength: 5),
            hex: "8A 85 37 FA 21 3D"
        ),
    ]

    @Test(arguments: fixtures)
    func headerDecodesFromFixtureWholeAndFromEveryPrefix(_ fixture: Fixture) {
        let bytes = hex(fixture.hex)
        Self.expectDecoding(bytes, as: .header(fixture.header, length: bytes.count))
    }

    @Test(arguments: fixtures)
    func headerEncodesToFixture(_ fixture: Fixture) {
        let bytes = Self.encode(fixture.header)
        #expect(hexString(bytes) == hexString(hex(fixture.hex)))
        #expect(fixture.header.encodedLength == bytes.count)
    }

    @Test(arguments: [
        "82 7F 80 00 00 00 00 00 00 00",  // 2^63
        "82 7F FF FF FF FF FF FF FF FF",  // 2^64 - 1
        "81 FF 80 00 00 00 00 00 00 05 37 FA 21 3D",  // masked, MSB set
    ])
    func headerWith64BitLengthMostSignificantBitSetIsRejected(_ fixture: String) {
        let bytes = hex(fixture)
        // The length is known to be bad as soon as its eight bytes are in, before any key.
        #expect(Self.decode(bytes.prefix(10)) == .lengthTooLarge)
        for count in 0..<10 {
            #expect(Self.decode(bytes.prefix(count)) == .needMoreBytes)
        }
        #expect(Self.decode(bytes) == .lengthTooLarge)
    }

    @Test(arguments: [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] as [UInt8])
    func headerWithReservedOpcodeDecodesSoTheEndpointCanReportIt(_ opcode: UInt8) {
        let bytes: [UInt8] = [0x80 | opcode, 0x00]
        let expected = WebSocketFrameHeader(opcode: WebSocketOpcode(rawValue: opcode)!, payloadLength: 0)
        Self.expectDecoding(bytes, as: .header(expected, length: 2))
    }

    @Test(arguments: [0, 1, 124, 125, 126, 127, 1000, 65534, 65535, 65536, 65537, 1 << 31, 1 << 40, Int.max])
    func headerRoundTripsThroughEncodeAndDecode(_ length: Int) {
        let opcodes: [WebSocketOpcode] = [.continuation, .text, .binary, .close, .ping, .pong]
        for opcode in opcodes {
            for key in [nil, testMaskingKey, WebSocketMaskingKey(0, 0, 0, 0)] {
                for (fin, rsv) in [(true, UInt8(0)), (false, 0x40), (true, 0x70)] {
                    let header = WebSocketFrameHeader(
                        fin: fin,
                        reservedBits: rsv,
                        opcode: opcode,
                        maskingKey: key,
                        payloadLength: length
                    )
                    let bytes = Self.encode(header)
                    #expect(bytes.count == header.encodedLength)
                    #expect(Self.decode(bytes) == .header(header, length: bytes.count), "\(header)")
                }
            }
        }
    }

    @Test(arguments: [(125, 2), (126, 4), (65535, 4), (65536, 10)])
    func headerUsesTheShortestLengthEncoding(_ length: Int, _ headerLength: Int) {
        let header = WebSocketFrameHeader(opcode: .binary, payloadLength: length)
        #expect(Self.encode(header).count == headerLength)
        var masked = header
        masked.maskingKey = testMaskingKey
        #expect(Self.encode(masked).count == headerLength + 4)
    }

    // MARK: Whole frames, RFC 6455 §5.7 examples

    static func writeFrame(
        _ opcode: WebSocketOpcode,
        _ payload: [UInt8],
        fin: Bool = true,
        maskingKey: WebSocketMaskingKey? = nil
    ) -> [UInt8] {
        var buffer = ByteBuffer()
        WebSocketFrameHeader.writeFrame(
            to: &buffer,
            fin: fin,
            opcode: opcode,
            maskingKey: maskingKey,
            payload: ByteBuffer(bytes: payload)
        )
        return buffer.bytes
    }

    @Test
    func frameWriterMatchesRFCSingleFrameUnmaskedText() {
        #expect(Self.writeFrame(.text, utf8("Hello")) == hex("81 05 48 65 6c 6c 6f"))
    }

    @Test
    func frameWriterMatchesRFCSingleFrameMaskedText() {
        #expect(
            Self.writeFrame(.text, utf8("Hello"), maskingKey: testMaskingKey) == hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")
        )
    }

    @Test
    func frameWriterMatchesRFCFragmentedUnmaskedText() {
        #expect(Self.writeFrame(.text, utf8("Hel"), fin: false) == hex("01 03 48 65 6c"))
        #expect(Self.writeFrame(.continuation, utf8("lo")) == hex("80 02 6c 6f"))
    }

    @Test
    func frameWriterMatchesRFCPingAndMaskedPong() {
        #expect(Self.writeFrame(.ping, utf8("Hello")) == hex("89 05 48 65 6c 6c 6f"))
        #expect(
            Self.writeFrame(.pong, utf8("Hello"), maskingKey: testMaskingKey) == hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58")
        )
    }

    @Test
    func frameWriterMatchesRFC256ByteAnd64KiBBinary() {
        let small = [UInt8](repeating: 0x5A, count: 256)
        #expect(Self.writeFrame(.binary, small) == hex("82 7E 01 00") + small)
        let large = (0..<65536).map { UInt8(truncatingIfNeeded: $0) }
        #expect(Self.writeFrame(.binary, large) == hex("82 7F 00 00 00 00 00 01 00 00") + large)
    }

    @Test(arguments: [0, 1, 7, 8, 9, 125, 126, 1000, 65536])
    func frameWriterMasksPayloadAsTheNaiveReference(_ length: Int) {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let written = Self.writeFrame(.binary, payload, maskingKey: testMaskingKey)
        #expect(written == frame(.binary, payload, mask: testMaskingKeyBytes))
    }

    @Test
    func frameWriterMasksOnlyItsOwnBytesWhenTheBufferHoldsOthers() {
        var buffer = ByteBuffer(bytes: [0x01, 0x02, 0x03])
        buffer.moveReaderIndex(forwardBy: 1)
        WebSocketFrameHeader.writeFrame(
            to: &buffer,
            opcode: .text,
            maskingKey: testMaskingKey,
            payload: ByteBuffer(string: "Hello")
        )
        #expect(buffer.bytes == [0x02, 0x03] + hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"))
    }

    @Test
    func frameWriterLeavesThePayloadBufferUnmasked() {
        let payload = ByteBuffer(string: "Hello")
        var buffer = ByteBuffer()
        WebSocketFrameHeader.writeFrame(to: &buffer, opcode: .text, maskingKey: testMaskingKey, payload: payload)
        #expect(payload.bytes == utf8("Hello"))
    }
}

/// RFC 6455 §5.2: the opcode field.
@Suite("§5.2 opcodes")
struct OpcodeTests {
    @Test(arguments: UInt8(0)...UInt8(15))
    func opcodeIsControlExactlyWhenItsHighBitIsSet(_ raw: UInt8) {
        let opcode = WebSocketOpcode(rawValue: raw)!
        #expect(opcode.isControl == (raw >= 8))
        #expect(opcode.isReserved == ![0x0, 0x1, 0x2, 0x8, 0x9, 0xA].contains(raw))
    }

    @Test(arguments: [16, 0x80, 0xFF] as [UInt8])
    func opcodeAboveFourBitsIsRejected(_ raw: UInt8) {
        #expect(WebSocketOpcode(rawValue: raw) == nil)
    }

    @Test
    func opcodeConstantsHaveTheRFCValues() {
        #expect(WebSocketOpcode.continuation.rawValue == 0x0)
        #expect(WebSocketOpcode.text.rawValue == 0x1)
        #expect(WebSocketOpcode.binary.rawValue == 0x2)
        #expect(WebSocketOpcode.close.rawValue == 0x8)
        #expect(WebSocketOpcode.ping.rawValue == 0x9)
        #expect(WebSocketOpcode.pong.rawValue == 0xA)
        #expect(WebSocketOpcode(rawValue: 0xB)!.description == "reserved(0xb)")
    }
}
