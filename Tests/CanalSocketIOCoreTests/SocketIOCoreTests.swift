import Foundation
import NIOCore
import Testing

@testable import CanalSocketIOCore

private func encode(_ p: SocketIOPacket) -> (String, [ByteBuffer]) {
    var b = ByteBuffer()
    let att = SocketIOPacketEncoder.encode(p, into: &b)
    return (String(buffer: b), att)
}

private func decodeWhole(_ text: String, _ attachments: [ByteBuffer] = []) throws -> SocketIOPacket? {
    var d = SocketIOPacketDecoder()
    var r = try d.decode(text: ByteBuffer(string: text))
    for a in attachments { r = try d.decode(binary: a) }
    return r
}

private func rejects(_ text: String) -> Bool {
    var d = SocketIOPacketDecoder()
    do { _ = try d.decode(text: ByteBuffer(string: text)); return false } catch { return true }
}

@Suite struct JSONTests {
    @Test func parsesNestedValuesAndWritesThemBackCompact() throws {
        let text = #"{"a":[1,2.5,-0,true,false,null,"x"],"b":{"c":{}},"d":[]}"#
        let v = try SocketIOJSON.parse(" \n" + text + "\t ")
        #expect(v["a"]?.arrayValue?.count == 7)
        #expect(v["b"]?["c"]?.objectValue?.count == 0)
        #expect(SocketIOJSON.string(v) == text)
    }

    @Test func bigNumbersKeepTheirLiteral() throws {
        for lit in ["9007199254740993", "1e400", "-0", "0.1", "-12.5E-3", "123456789012345678901234567890"] {
            let v = try SocketIOJSON.parse("[\(lit)]")
            #expect(SocketIOJSON.string(v) == "[\(lit)]")
        }
        #expect(try SocketIOJSON.parse("9007199254740993").intValue == 9_007_199_254_740_993)
        #expect(try SocketIOJSON.parse("1e400").doubleValue == .infinity)
    }

    @Test func numberInitializersWriteJavaScriptForms() {
        #expect(SocketIONumber(3.0).literal == "3")
        #expect(SocketIONumber(-0.0).literal == "0")
        #expect(SocketIONumber(0.5).literal == "0.5")
        #expect(SocketIONumber(1e16).literal == "10000000000000000")
        #expect(SocketIONumber(1.5e-7).literal == "1.5e-7")
        #expect(SocketIONumber(1e21).literal == "1e+21")
        #expect(SocketIONumber(123.456).literal == "123.456")
        #expect(SocketIONumber(Double.leastNonzeroMagnitude).literal == "5e-324")
        #expect(SocketIONumber(1.7976931348623157e308).literal == "1.7976931348623157e+308")
        #expect(SocketIONumber(Double.infinity).literal == "null")
        #expect(SocketIONumber(literal: "01") == nil)
        #expect(SocketIONumber(literal: "1.") == nil)
        #expect(SocketIONumber(literal: "-") == nil)
        #expect(SocketIONumber(literal: "+1") == nil)
        #expect(SocketIONumber(literal: "1e+5")?.literal == "1e+5")
    }

    @Test func unicodeEscapesDecodeAndEmojiRoundTrip() throws {
        #expect(try SocketIOJSON.parse(#""\ud83d\ude00""#).stringValue == "😀")
        #expect(try SocketIOJSON.parse(#""😀é""#).stringValue == "😀é")
        #expect(try SocketIOJSON.parse(#""\u00e9\n\t\"\\\/""#).stringValue == "é\n\t\"\\/")
        #expect(try SocketIOJSON.parse(#""\ud800x""#).stringValue == "\u{FFFD}x")
        #expect(try SocketIOJSON.parse(#""\udc00""#).stringValue == "\u{FFFD}")
        #expect(SocketIOJSON.string(.string("a\"b\\c\n\u{1}\u{8}\u{c}\r\t😀")) == #""a\"b\\c\n\u0001\b\f\r\t😀""#)
    }

    @Test func laterDuplicateKeyWinsInFirstPosition() throws {
        let v = try SocketIOJSON.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(v.objectValue?.keys == ["a", "b"])
        #expect(v["a"]?.intValue == 3)
        var many = "{"
        for k in 0..<40 { many += "\"k\(k)\":\(k)," }
        many += "\"k5\":99}"
        let m = try SocketIOJSON.parse(many)
        #expect(m.objectValue?.count == 40)
        #expect(m["k5"]?.intValue == 99)
    }

    @Test func malformedJSONIsRejected() {
        let bad = [
            "", "[1,]", "{\"a\":1,}", "[1 2]", "// c\n1", "NaN", "Infinity", "[01]", "\"\u{1}\"", "'a'", "{a:1}",
            "[", "{\"a\"}", "\"\\x\"", "\"\\u12\"", "tru", "nul", "[1]]", "1 2", "-", "1.", ".5", "1e",
        ]
        for t in bad { #expect(throws: SocketIOJSONError.self, "\(t)") { try SocketIOJSON.parse(t) } }
        var invalidUTF8 = ByteBuffer()
        invalidUTF8.writeBytes([0x22, 0xC3, 0x28, 0x22])
        #expect(throws: SocketIOJSONError.self) { try SocketIOJSON.parse(invalidUTF8) }
        invalidUTF8.clear()
        invalidUTF8.writeBytes([0x22, 0x5C, 0x6E, 0xED, 0xA0, 0x80, 0x22])  // escape then CESU surrogate bytes
        #expect(throws: SocketIOJSONError.self) { try SocketIOJSON.parse(invalidUTF8) }
    }

    @Test func depthLimitIsEnforced() throws {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: SocketIOJSONError.self) { try SocketIOJSON.parse(deep) }
        _ = try SocketIOJSON.parse(deep, maxDepth: 65)
        let veryDeep = String(repeating: "[", count: 100_000)
        #expect(throws: SocketIOJSONError.self) { try SocketIOJSON.parse(veryDeep) }
    }

    @Test func plainWriteTurnsBinaryIntoNull() {
        #expect(SocketIOJSON.string([.binary(ByteBuffer(bytes: [1]))]) == "[null]")
    }
}

@Suite struct PacketEncodingTests {
    @Test func everyTypeEncodesAsTheOfficialParserDoes() {
        #expect(encode(SocketIOPacket(type: .connect)).0 == "0")
        #expect(encode(SocketIOPacket(type: .connect, namespace: "/admin", data: ["token": "x"])).0 == #"0/admin,{"token":"x"}"#)
        #expect(encode(SocketIOPacket(type: .disconnect, namespace: "/admin")).0 == "1/admin,")
        #expect(encode(SocketIOPacket(type: .event, data: ["echo", "hi"])).0 == #"2["echo","hi"]"#)
        #expect(encode(SocketIOPacket(type: .event, namespace: "/chat", id: 12, data: ["m"])).0 == #"2/chat,12["m"]"#)
        #expect(encode(SocketIOPacket(type: .ack, id: 7, data: [])).0 == "37[]")
        #expect(encode(SocketIOPacket(type: .connectError, data: ["message": "no"])).0 == #"4{"message":"no"}"#)
    }

    @Test func binaryNestedAnywhereBecomesPlaceholdersInDepthFirstOrder() throws {
        let a = ByteBuffer(bytes: [1]), b = ByteBuffer(bytes: [2, 2]), c = ByteBuffer(bytes: [3, 3, 3])
        let data: SocketIOValue = ["up", .binary(a), ["k": [.binary(b), ["z": .binary(c)]]]]
        let (text, att) = encode(SocketIOPacket(type: .event, namespace: "/n", id: 4, data: data))
        #expect(text == #"53-/n,4["up",{"_placeholder":true,"num":0},{"k":[{"_placeholder":true,"num":1},{"z":{"_placeholder":true,"num":2}}]}]"#)
        #expect(att == [a, b, c])
        let back = try decodeWhole(text, att)
        #expect(back == SocketIOPacket(type: .binaryEvent, namespace: "/n", id: 4, data: data))
        let (ackText, ackAtt) = encode(SocketIOPacket(type: .ack, id: 1, data: [.binary(a)]))
        #expect(ackText == #"61-1[{"_placeholder":true,"num":0}]"#)
        #expect(ackAtt == [a])
    }
}

@Suite struct PacketDecodingTests {
    @Test func everyTypeDecodesFromWhole() throws {
        #expect(try decodeWhole("0") == SocketIOPacket(type: .connect))
        #expect(try decodeWhole(#"0/admin,{"a":1}"#) == SocketIOPacket(type: .connect, namespace: "/admin", data: ["a": 1]))
        #expect(try decodeWhole("1/admin,") == SocketIOPacket(type: .disconnect, namespace: "/admin"))
        #expect(try decodeWhole("1") == SocketIOPacket(type: .disconnect))
        #expect(try decodeWhole(#"2["echo","x"]"#) == SocketIOPacket(type: .event, data: ["echo", "x"]))
        #expect(try decodeWhole(#"2/chat,99["m",{"a":[1]}]"#) == SocketIOPacket(type: .event, namespace: "/chat", id: 99, data: ["m", ["a": [1]]]))
        #expect(try decodeWhole("2[1]") == SocketIOPacket(type: .event, data: [1]))
        #expect(try decodeWhole("3/x,5[]") == SocketIOPacket(type: .ack, namespace: "/x", id: 5, data: []))
        #expect(try decodeWhole(#"4"boom""#) == SocketIOPacket(type: .connectError, data: "boom"))
        #expect(try decodeWhole(#"4{"message":"m"}"#) == SocketIOPacket(type: .connectError, data: ["message": "m"]))
        #expect(try decodeWhole(#"50-["a"]"#) == SocketIOPacket(type: .binaryEvent, data: ["a"]))
        #expect(try decodeWhole("41") == SocketIOPacket(type: .connectError, id: 1))
    }

    @Test func binaryPacketWaitsForAllAttachments() throws {
        var d = SocketIOPacketDecoder()
        #expect(try d.decode(text: ByteBuffer(string: #"62-/n,3[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#)) == nil)
        #expect(d.isAwaitingAttachments)
        #expect(throws: SocketIOParseError.self) { try d.decode(text: ByteBuffer(string: "2[\"a\"]")) }
        #expect(try d.decode(binary: ByteBuffer(bytes: [0])) == nil)
        let p = try d.decode(binary: ByteBuffer(bytes: [1]))
        #expect(p == SocketIOPacket(type: .binaryAck, namespace: "/n", id: 3, data: [.binary(ByteBuffer(bytes: [1])), .binary(ByteBuffer(bytes: [0]))]))
        #expect(!d.isAwaitingAttachments)
        #expect(throws: SocketIOParseError.self) { try d.decode(binary: ByteBuffer(bytes: [1])) }
        _ = try d.decode(text: ByteBuffer(string: #"51-["a",1]"#))
        d.reset()
        #expect(try d.decode(text: ByteBuffer(string: #"2["a"]"#)) != nil)
    }

    @Test func invalidPlaceholderIsRejected() throws {
        for ph in [#"{"_placeholder":true,"num":1}"#, #"{"_placeholder":true,"num":-1}"#, #"{"_placeholder":true,"num":0.5}"#,
                   #"{"_placeholder":true,"num":"0"}"#, #"{"_placeholder":true}"#] {
            var d = SocketIOPacketDecoder()
            _ = try d.decode(text: ByteBuffer(string: "51-[\"e\",\(ph)]"))
            #expect(throws: SocketIOParseError.self, "\(ph)") { try d.decode(binary: ByteBuffer(bytes: [9])) }
        }
    }

    @Test func everyRejectionThrows() {
        let bad = [
            "", "7", "9[]", "x", "2[]", "2{}", "2\"a\"", "2[null]", "2[{}]", "2[\"connect\"]", "2[\"disconnecting\"]",
            "0[]", "0\"x\"", "1{}", "1[]", "4[]", "4true", "2/ns[\"a\"]", "3{}", "3\"a\"", "2[\"a\"]x", "21x", "5[\"a\"]", "5x-[\"a\"]",
            "5-", "511-[\"a\"]", "2/a,[\"a\",]", "299999999999999999999999[\"a\"]", "2[\"a\"", "2", "5-[\"a\"]",
        ]
        for t in bad { #expect(rejects(t), "\(t)") }
        var d = SocketIOPacketDecoder(limits: SocketIODecoderLimits(maxAttachments: 2))
        #expect(throws: SocketIOParseError.self) { try d.decode(text: ByteBuffer(string: #"53-["a"]"#)) }
        #expect(throws: SocketIOParseError.self) { try d.decode(binary: ByteBuffer(bytes: [1])) }
        var invalidNS = ByteBuffer(bytes: [0x30, 0x2F, 0xFF, 0x2C])
        #expect(throws: SocketIOParseError.self) { try d.decode(text: invalidNS) }
        invalidNS.clear()
    }

    @Test func hotPathEchoRoundTrips() throws {
        let s = String(repeating: "abcdefgh", count: 8)
        let text = "2[\"echo\",\"\(s)\"]"
        let p = try #require(try decodeWhole(text))
        #expect(encode(p).0 == text)
    }

    @Test func randomAndMutatedInputsNeverCrash() {
        var rng = SystemRandomNumberGenerator()
        let seeds = [#"2/chat,12["m",{"a":[1,"é",null]}]"#, #"52-["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
                     #"0/admin,{"t":"\ud83d\ude00"}"#, "4\"x\"", "31[]"]
        let alphabet = Array("0123456789-/,[]{}\":.eE+\\u\"ntrfals _placeholder".utf8) + [0xC3, 0xFF, 0x00, 0xED]
        var accepted = 0
        for k in 0..<3000 {
            var bytes: [UInt8]
            if k % 3 == 0 {
                bytes = (0..<Int.random(in: 0..<40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            } else {
                bytes = Array(seeds.randomElement(using: &rng)!.utf8)
                for _ in 0..<Int.random(in: 1...4, using: &rng) where !bytes.isEmpty {
                    let at = Int.random(in: 0..<bytes.count, using: &rng)
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0: bytes[at] = alphabet.randomElement(using: &rng)!
                    case 1: bytes.remove(at: at)
                    default: bytes.insert(alphabet.randomElement(using: &rng)!, at: at)
                    }
                }
            }
            var d = SocketIOPacketDecoder()
            if let p = try? d.decode(text: ByteBuffer(bytes: bytes)) {
                accepted += 1
                var out = ByteBuffer()
                let att = SocketIOPacketEncoder.encode(p, into: &out)
                var d2 = SocketIOPacketDecoder()
                #expect((try? d2.decode(text: out)) != nil || !att.isEmpty, "re-encoded \(String(buffer: out))")
            }
            for _ in 0..<3 where d.isAwaitingAttachments { _ = try? d.decode(binary: ByteBuffer(bytes: [1])) }
        }
        #expect(accepted > 0)
    }
}

@Suite struct CodableBridgeTests {
    struct Message: Codable, Equatable {
        var text: String
        var count: Int
        var ratio: Double
        var tags: [String]
        var blob: Data
        var nested: [String: Int]
        var optional: String?
    }

    @Test func codableRoundTripsWithDataAsBinary() throws {
        let m = Message(text: "hé😀", count: 9_007_199_254_740_993, ratio: 0.25, tags: ["a", "b"], blob: Data([1, 2, 3]), nested: ["x": 1], optional: nil)
        let v = try SocketIOValueEncoder().encode(m)
        #expect(v["blob"] == .binary(ByteBuffer(bytes: [1, 2, 3])))
        #expect(v["count"]?.intValue == 9_007_199_254_740_993)
        #expect(v.containsBinary)
        let back = try SocketIOValueDecoder().decode(Message.self, from: v)
        #expect(back == m)
    }

    @Test func codableTypeMismatchThrows() {
        #expect(throws: DecodingError.self) { try SocketIOValueDecoder().decode(Int.self, from: "x") }
        #expect(throws: DecodingError.self) { try SocketIOValueDecoder().decode(UInt8.self, from: 300) }
        #expect(throws: DecodingError.self) { try SocketIOValueDecoder().decode(Data.self, from: [1]) }
        #expect(throws: EncodingError.self) { try SocketIOValueEncoder().encode(Double.nan) }
    }
}
