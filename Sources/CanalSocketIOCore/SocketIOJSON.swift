import NIOCore

/// A JSON syntax error: the byte offset where parsing stopped and why.
public struct SocketIOJSONError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Byte offset in the input.
    public var offset: Int
    /// What was wrong.
    public var message: String
    public init(offset: Int, message: String) { self.offset = offset; self.message = message }
    public var description: String { "JSON error at byte \(offset): \(message)" }
}

/// Strict JSON (RFC 8259) parsing and `JSON.stringify`-compatible writing.
///
/// Parsing rules: one value with optional surrounding whitespace; no trailing commas, comments, NaN or
/// Infinity; the input must be valid UTF-8; `\u` escapes combine surrogate pairs. A lone surrogate escape
/// (`"\uD800"`) is accepted, as `JSON.parse` accepts it, and decodes as U+FFFD because a Swift `String`
/// cannot hold a lone surrogate. Nesting deeper than `maxDepth` arrays/objects throws.
public enum SocketIOJSON {
    /// Parses one JSON text from the readable bytes of `bytes`.
    public static func parse(_ bytes: ByteBuffer, maxDepth: Int = 64) throws(SocketIOJSONError) -> SocketIOValue {
        let r: Result<SocketIOValue, SocketIOJSONError> = bytes.withUnsafeReadableBytes { raw in
            var p = JSONParser(raw, maxDepth: maxDepth)
            do throws(SocketIOJSONError) { return .success(try p.parseDocument()) } catch { return .failure(error) }
        }
        return try r.get()
    }

    /// Parses one JSON text.
    public static func parse(_ text: String, maxDepth: Int = 64) throws(SocketIOJSONError) -> SocketIOValue {
        var t = text
        let r: Result<SocketIOValue, SocketIOJSONError> = t.withUTF8 { u in
            var p = JSONParser(UnsafeRawBufferPointer(u), maxDepth: maxDepth)
            do throws(SocketIOJSONError) { return .success(try p.parseDocument()) } catch { return .failure(error) }
        }
        return try r.get()
    }

    /// Appends compact JSON as `JSON.stringify` writes it: `\" \\ \b \f \n \r \t` escaped, other control
    /// characters as `\u00xx`, everything else (non-ASCII included) as UTF-8. `.binary` is written as `null`
    /// (only ``SocketIOPacketEncoder`` turns binaries into placeholders).
    public static func write(_ value: SocketIOValue, into buffer: inout ByteBuffer) {
        var w = JSONWriter(placeholders: false)
        w.write(value, into: &buffer)
    }

    /// The compact JSON text of `value` (see ``write(_:into:)``).
    public static func string(_ value: SocketIOValue) -> String {
        var b = ByteBuffer()
        write(value, into: &b)
        return b.readString(length: b.readableBytes) ?? ""
    }
}

enum JSONNumberGrammar {
    /// Length of the longest RFC 8259 number starting at `i`, or -1 if none.
    static func matchLength(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        let n = b.count
        if i < n, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n else { return -1 }
        if b[i] == UInt8(ascii: "0") {
            i += 1
        } else if b[i] >= UInt8(ascii: "1") && b[i] <= UInt8(ascii: "9") {
            while i < n, b[i] &- 48 < 10 { i += 1 }
        } else { return -1 }
        if i < n, b[i] == UInt8(ascii: ".") {
            i += 1
            let s = i
            while i < n, b[i] &- 48 < 10 { i += 1 }
            if i == s { return -1 }
        }
        if i < n, b[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < n, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            let s = i
            while i < n, b[i] &- 48 < 10 { i += 1 }
            if i == s { return -1 }
        }
        return i - start
    }
}

struct JSONParser {
    let b: UnsafeBufferPointer<UInt8>
    var i = 0
    let maxDepth: Int
    var depth = 0

    init(_ raw: UnsafeRawBufferPointer, maxDepth: Int) {
        self.b = raw.bindMemory(to: UInt8.self)
        self.maxDepth = maxDepth
    }

    func fail(_ m: String) -> SocketIOJSONError { SocketIOJSONError(offset: i, message: m) }

    @inline(__always) mutating func skipWS() {
        while i < b.count {
            let c = b[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { return }
        }
    }

    mutating func parseDocument() throws(SocketIOJSONError) -> SocketIOValue {
        skipWS()
        let v = try parseValue()
        skipWS()
        if i != b.count { throw fail("unexpected data after the JSON value") }
        return v
    }

    mutating func literal(_ word: StaticString, _ v: SocketIOValue) throws(SocketIOJSONError) -> SocketIOValue {
        let n = word.utf8CodeUnitCount
        guard b.count - i >= n else { throw fail("invalid literal") }
        let w = word.utf8Start
        for k in 0..<n where b[i + k] != w[k] { throw fail("invalid literal") }
        i += n
        return v
    }

    mutating func parseValue() throws(SocketIOJSONError) -> SocketIOValue {
        guard i < b.count else { throw fail("unexpected end of input") }
        switch b[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default:
            let len = JSONNumberGrammar.matchLength(b, from: i)
            if len <= 0 { throw fail("unexpected character") }
            let s = String(decoding: UnsafeBufferPointer(rebasing: b[i..<(i + len)]), as: UTF8.self)
            i += len
            return .number(SocketIONumber(uncheckedLiteral: s))
        }
    }

    mutating func parseArray() throws(SocketIOJSONError) -> SocketIOValue {
        depth += 1
        if depth > maxDepth { throw fail("nesting too deep") }
        i += 1
        var a: [SocketIOValue] = []
        skipWS()
        if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return .array(a) }
        while true {
            skipWS()
            a.append(try parseValue())
            skipWS()
            guard i < b.count else { throw fail("unterminated array") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "]") { i += 1; break }
            throw fail("expected , or ]")
        }
        depth -= 1
        return .array(a)
    }

    mutating func parseObject() throws(SocketIOJSONError) -> SocketIOValue {
        depth += 1
        if depth > maxDepth { throw fail("nesting too deep") }
        i += 1
        var o = SocketIOObject()
        var seen: Set<String>? = nil
        skipWS()
        if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return .object(o) }
        while true {
            skipWS()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let k = try parseString()
            skipWS()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected :") }
            i += 1
            skipWS()
            let v = try parseValue()
            if o.count < 16 {
                o[k] = v
            } else {
                if seen == nil { seen = Set(o.keys) }
                if seen!.insert(k).inserted { o.appendUnchecked(k, v) } else { o[k] = v }
            }
            skipWS()
            guard i < b.count else { throw fail("unterminated object") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "}") { i += 1; break }
            throw fail("expected , or }")
        }
        depth -= 1
        return .object(o)
    }

    @inline(__always) func hex(_ c: UInt8) -> UInt32? {
        switch c {
        case 48...57: return UInt32(c - 48)
        case 65...70: return UInt32(c - 55)
        case 97...102: return UInt32(c - 87)
        default: return nil
        }
    }

    mutating func hex4() throws(SocketIOJSONError) -> UInt32 {
        guard b.count - i >= 4 else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for k in 0..<4 {
            guard let h = hex(b[i + k]) else { throw fail("bad \\u escape") }
            v = v << 4 | h
        }
        i += 4
        return v
    }

    /// At the opening quote.
    mutating func parseString() throws(SocketIOJSONError) -> String {
        i += 1
        let start = i
        var ascii = true
        // Fast path: no escapes.
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                let run = UnsafeBufferPointer(rebasing: b[start..<i])
                i += 1
                if ascii { return String(decoding: run, as: UTF8.self) }
                guard let s = String(validating: run, as: UTF8.self) else {
                    i = start; throw fail("invalid UTF-8 in string")
                }
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("control character in string") }
            if c >= 0x80 { ascii = false }
            i += 1
        }
        guard i < b.count else { throw fail("unterminated string") }
        // Slow path with escapes.
        var out: [UInt8] = []
        out.reserveCapacity(i - start + 16)
        out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i]))
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") {
                let rs = i
                while i < b.count, b[i] != UInt8(ascii: "\""), b[i] != UInt8(ascii: "\\"), b[i] >= 0x20 { i += 1 }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: b[rs..<i]))
                continue
            }
            i += 1
            guard i < b.count else { throw fail("unterminated escape") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var u = try hex4()
                if u >= 0xD800 && u < 0xDC00 {
                    // High surrogate: combine with a following \uDC00-\uDFFF escape if there is one.
                    if b.count - i >= 6, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                        let save = i
                        i += 2
                        let lo = try hex4()
                        if lo >= 0xDC00 && lo < 0xE000 {
                            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                        } else {
                            i = save
                            u = 0xFFFD
                        }
                    } else {
                        u = 0xFFFD
                    }
                } else if u >= 0xDC00 && u < 0xE000 {
                    u = 0xFFFD
                }
                appendUTF8(u, &out)
            default:
                i -= 1
                throw fail("invalid escape")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else {
            throw fail("invalid UTF-8 in string")
        }
        return s
    }

    @inline(__always) func appendUTF8(_ u: UInt32, _ out: inout [UInt8]) {
        if u < 0x80 {
            out.append(UInt8(u))
        } else if u < 0x800 {
            out.append(UInt8(0xC0 | (u >> 6))); out.append(UInt8(0x80 | (u & 0x3F)))
        } else if u < 0x10000 {
            out.append(UInt8(0xE0 | (u >> 12))); out.append(UInt8(0x80 | ((u >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (u & 0x3F)))
        } else {
            out.append(UInt8(0xF0 | (u >> 18))); out.append(UInt8(0x80 | ((u >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((u >> 6) & 0x3F))); out.append(UInt8(0x80 | (u & 0x3F)))
        }
    }
}

struct JSONWriter {
    let placeholders: Bool
    var attachments: [ByteBuffer] = []

    init(placeholders: Bool) { self.placeholders = placeholders }

    mutating func write(_ v: SocketIOValue, into buf: inout ByteBuffer) {
        switch v {
        case .null: buf.writeStaticString("null")
        case .bool(let x):
            if x { buf.writeStaticString("true") } else { buf.writeStaticString("false") }
        case .number(let n): buf.writeString(n.literal)
        case .string(let s): Self.writeString(s, into: &buf)
        case .array(let a):
            buf.writeInteger(UInt8(ascii: "["))
            var first = true
            for e in a {
                if !first { buf.writeInteger(UInt8(ascii: ",")) }
                first = false
                write(e, into: &buf)
            }
            buf.writeInteger(UInt8(ascii: "]"))
        case .object(let o):
            buf.writeInteger(UInt8(ascii: "{"))
            var first = true
            for (k, e) in o {
                if !first { buf.writeInteger(UInt8(ascii: ",")) }
                first = false
                Self.writeString(k, into: &buf)
                buf.writeInteger(UInt8(ascii: ":"))
                write(e, into: &buf)
            }
            buf.writeInteger(UInt8(ascii: "}"))
        case .binary(let bytes):
            if placeholders {
                buf.writeStaticString("{\"_placeholder\":true,\"num\":")
                buf.writeString(String(attachments.count))
                buf.writeInteger(UInt8(ascii: "}"))
                attachments.append(bytes)
            } else {
                buf.writeStaticString("null")
            }
        }
    }

    static func writeString(_ s: String, into buf: inout ByteBuffer) {
        var s = s
        s.withUTF8 { u in
            buf.reserveCapacity(minimumWritableBytes: u.count + 2)
            buf.writeInteger(UInt8(ascii: "\""))
            var runStart = 0
            var k = 0
            let n = u.count
            while k < n {
                let c = u[k]
                if c >= 0x20 && c != 0x22 && c != 0x5C { k += 1; continue }
                if runStart < k { buf.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(u)[runStart..<k])) }
                switch c {
                case 0x22: buf.writeStaticString("\\\"")
                case 0x5C: buf.writeStaticString("\\\\")
                case 0x08: buf.writeStaticString("\\b")
                case 0x0C: buf.writeStaticString("\\f")
                case 0x0A: buf.writeStaticString("\\n")
                case 0x0D: buf.writeStaticString("\\r")
                case 0x09: buf.writeStaticString("\\t")
                default:
                    let hexd: [UInt8] = Array("0123456789abcdef".utf8)
                    buf.writeStaticString("\\u00")
                    buf.writeInteger(hexd[Int(c >> 4)])
                    buf.writeInteger(hexd[Int(c & 15)])
                }
                k += 1
                runStart = k
            }
            if runStart < n { buf.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(u)[runStart..<n])) }
            buf.writeInteger(UInt8(ascii: "\""))
        }
    }
}
