import CanalRedis
import Foundation
import NIOCore
import Testing

/// RESP2 replies as Redis sends them, in hex, each fed in one batch and byte by byte.
@Suite struct RESPDecoderTests {
    static func bytes(_ hex: String) -> ByteBuffer {
        let digits = Array(hex.filter { !$0.isWhitespace }.utf8)
        var buffer = ByteBuffer()
        var index = 0
        while index + 1 < digits.count {
            buffer.writeInteger(UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16)!)
            index += 2
        }
        return buffer
    }

    /// Every value the bytes hold, fed all at once or one byte at a time.
    static func decode(_ hex: String, byteByByte: Bool, limits: RESPDecoderLimits = RESPDecoderLimits()) throws
        -> [RESPValue]
    {
        var decoder = RESPDecoder(limits: limits)
        var input = bytes(hex)
        var values: [RESPValue] = []
        if byteByByte {
            while let byte = input.readSlice(length: 1) {
                decoder.feed(byte)
                while let value = try decoder.next() { values.append(value) }
            }
        } else {
            decoder.feed(input)
            while let value = try decoder.next() { values.append(value) }
        }
        #expect(decoder.bufferedBytes == 0)
        return values
    }

    static let fixtures: [(String, String, [RESPValue])] = [
        ("simple string +OK", "2b4f4b0d0a", [.simpleString("OK")]),
        ("error reply", "2d45525220756e6b6e6f776e20636f6d6d616e640d0a", [.error("ERR unknown command")]),
        ("integer :1000", "3a313030300d0a", [.integer(1000)]),
        ("negative integer :-42", "3a2d34320d0a", [.integer(-42)]),
        ("bulk string hello", "24350d0a68656c6c6f0d0a", [.bulkString(ByteBuffer(string: "hello"))]),
        ("empty bulk string", "24300d0a0d0a", [.bulkString(ByteBuffer())]),
        ("binary bulk with CRLF inside", "24340d0a0d0a00ff0d0a", [.bulkString(bytes("0d0a00ff"))]),
        ("null bulk string", "242d310d0a", [.null]),
        ("null array", "2a2d310d0a", [.null]),
        ("empty array", "2a300d0a", [.array([])]),
        (
            "array of bulk and integer", "2a320d0a24330d0a666f6f0d0a3a370d0a",
            [.array([.bulkString(ByteBuffer(string: "foo")), .integer(7)])]
        ),
        (
            // XREAD: [[stream, [[id, [field, value]]]]]
            "nested stream reply",
            "2a310d0a2a320d0a24310d0a730d0a2a310d0a2a320d0a24330d0a312d300d0a2a320d0a24310d0a740d0a24310d0a330d0a",
            [
                .array([
                    .array([
                        .bulkString(ByteBuffer(string: "s")),
                        .array([
                            .array([
                                .bulkString(ByteBuffer(string: "1-0")),
                                .array([.bulkString(ByteBuffer(string: "t")), .bulkString(ByteBuffer(string: "3"))]),
                            ])
                        ]),
                    ])
                ])
            ]
        ),
        (
            "three replies in a row (pipelining)", "2b504f4e470d0a3a310d0a24310d0a780d0a",
            [.simpleString("PONG"), .integer(1), .bulkString(ByteBuffer(string: "x"))]
        ),
        (
            "pub/sub message push", "2a330d0a24370d0a6d6573736167650d0a24320d0a63680d0a24320d0a68690d0a",
            [.array([.bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "ch")),
                     .bulkString(ByteBuffer(string: "hi"))])]
        ),
    ]

    @Test(arguments: [false, true])
    func clientDecodesEveryFixture(byteByByte: Bool) throws {
        for (name, hex, expected) in Self.fixtures {
            let values = try Self.decode(hex, byteByByte: byteByByte)
            #expect(values == expected, "\(name)")
        }
    }

    @Test(arguments: [false, true])
    func clientDecodesAllFixturesInOneStream(byteByByte: Bool) throws {
        let hex = Self.fixtures.map(\.1).joined()
        let values = try Self.decode(hex, byteByByte: byteByByte)
        #expect(values == Self.fixtures.flatMap(\.2))
    }

    static let malformed: [(String, String)] = [
        ("unknown type byte", "3f780d0a"),
        ("integer that is not a number", "3a3132610d0a"),
        ("bulk not followed by CRLF", "24310d0a61620d0a"),
        ("negative bulk length", "242d320d0a"),
        ("CR without LF", "2b4f4b0d41"),
        ("empty line", "0d0a"),
    ]

    @Test(arguments: [false, true])
    func clientRejectsMalformedReplies(byteByByte: Bool) {
        for (name, hex) in Self.malformed {
            #expect(throws: RESPProtocolError.self, "\(name)") { try Self.decode(hex, byteByByte: byteByByte) }
        }
    }

    @Test func clientRejectsBulkOverTheLimitBeforeItsBody() {
        // Only the header is fed: the decoder must not wait for (and buffer) 1 GB.
        let limits = RESPDecoderLimits(maxBulkLength: 16)
        #expect(throws: RESPProtocolError.self) { try Self.decode("2431370d0a", byteByByte: false, limits: limits) }
    }

    @Test func clientRejectsArraysNestedTooDeep() {
        let limits = RESPDecoderLimits(maxDepth: 2)
        // *1 *1 *1 :1
        #expect(throws: RESPProtocolError.self) {
            try Self.decode("2a310d0a2a310d0a2a310d0a3a310d0a", byteByByte: true, limits: limits)
        }
    }

    @Test func clientRejectsOverlongArrayAndLine() {
        #expect(throws: RESPProtocolError.self) {
            try Self.decode("2a31300d0a", byteByByte: false, limits: RESPDecoderLimits(maxArrayLength: 5))
        }
        // A simple string line with no CRLF in sight, longer than the limit.
        #expect(throws: RESPProtocolError.self) {
            try Self.decode("2b" + String(repeating: "61", count: 40), byteByByte: true,
                limits: RESPDecoderLimits(maxLineLength: 16))
        }
    }

    @Test func clientStaysFailedAfterAnError() throws {
        var decoder = RESPDecoder()
        decoder.feed(Self.bytes("3f0d0a"))
        #expect(throws: RESPProtocolError.self) { try decoder.next() }
        decoder.feed(Self.bytes("2b4f4b0d0a"))
        #expect(throws: RESPProtocolError.self) { try decoder.next() }
    }

    @Test func clientEncodesCommandsAsArraysOfBulkStrings() {
        var buffer = ByteBuffer()
        var command: RedisCommand = ["SET", "k"]
        command.append(Self.bytes("0d0a00"))
        RESPEncoder.encode(command, into: &buffer)
        // *3 $3 SET $1 k $3 \r\n\0
        #expect(buffer == Self.bytes("2a330d0a24330d0a5345540d0a24310d0a6b0d0a24330d0a0d0a000d0a"))
    }

    @Test(arguments: [false, true])
    func valuesEncodedThenDecodedComeBackEqual(byteByByte: Bool) throws {
        let values = Self.fixtures.flatMap(\.2)
        var buffer = ByteBuffer()
        for value in values { RESPEncoder.encode(value, into: &buffer) }
        let hex = buffer.readableBytesView.map { String(format: "%02x", $0) }.joined()
        #expect(try Self.decode(hex, byteByByte: byteByByte) == values)
    }
}
