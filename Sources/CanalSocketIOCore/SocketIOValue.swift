import Foundation
import NIOCore

/// A JSON value as Socket.IO carries it, plus binary attachments.
///
/// `.binary` never appears in JSON text: the packet encoder replaces it by a
/// `{"_placeholder":true,"num":N}` object and sends the bytes as a separate attachment.
public enum SocketIOValue: Sendable, Hashable {
    /// JSON `null`.
    case null
    /// JSON `true` / `false`.
    case bool(Bool)
    /// A JSON number, kept as its literal so that big integers round-trip exactly.
    case number(SocketIONumber)
    /// A JSON string.
    case string(String)
    /// A JSON array.
    case array([SocketIOValue])
    /// A JSON object, keys in arrival order.
    case object(SocketIOObject)
    /// A binary attachment (a Node `Buffer` / `ArrayBuffer` on the other side).
    case binary(ByteBuffer)

    /// The string, if this is `.string`.
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    /// The number as `Int`, if this is an integer `.number` that fits.
    public var intValue: Int? { if case .number(let n) = self { return n.intValue }; return nil }
    /// The number as `Double`, if this is `.number`.
    public var doubleValue: Double? { if case .number(let n) = self { return n.doubleValue }; return nil }
    /// The boolean, if this is `.bool`.
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    /// The elements, if this is `.array`.
    public var arrayValue: [SocketIOValue]? { if case .array(let a) = self { return a }; return nil }
    /// The object, if this is `.object`.
    public var objectValue: SocketIOObject? { if case .object(let o) = self { return o }; return nil }
    /// The bytes, if this is `.binary`.
    public var binaryValue: ByteBuffer? { if case .binary(let b) = self { return b }; return nil }
    /// Whether this is `.null`.
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// The member named `key`, if this is an object that has it.
    public subscript(key: String) -> SocketIOValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// Whether a `.binary` value occurs anywhere inside this value.
    public var containsBinary: Bool {
        switch self {
        case .binary: return true
        case .array(let a): return a.contains { $0.containsBinary }
        case .object(let o): return o.contains { $0.1.containsBinary }
        default: return false
        }
    }
}

extension SocketIOValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(SocketIONumber(value)) }
    public init(floatLiteral value: Double) { self = .number(SocketIONumber(value)) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: SocketIOValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, SocketIOValue)...) { self = .object(SocketIOObject(elements)) }
}

/// A JSON number kept as its literal text.
///
/// Equality compares literals: `1`, `1.0` and `1e0` are different values (they are different JSON texts).
/// A non-finite `Double` has no JSON form: `init(_: Double)` stores the literal `null`, which the JSON writer
/// emits as `null`, exactly as `JSON.stringify(Infinity)` does.
public struct SocketIONumber: Sendable, Hashable, CustomStringConvertible {
    /// The JSON literal (RFC 8259 number grammar), or `null` for a non-finite `Double`.
    public var literal: String

    /// Validates `literal` against the RFC 8259 number grammar; nil when it does not match.
    public init?(literal: String) {
        var s = literal
        let ok = s.withUTF8 { JSONNumberGrammar.matchLength($0, from: 0) == $0.count && $0.count > 0 }
        guard ok else { return nil }
        self.literal = literal
    }

    init(uncheckedLiteral: String) { self.literal = uncheckedLiteral }

    /// An integer number.
    public init(_ value: Int) { self.literal = String(value) }

    /// A floating-point number written as JavaScript's `JSON.stringify` writes it (integral values without `.0`,
    /// exponents as `1e-7` / `1e+21`); integral values from 9.2e18 up to 1e21 are written in exponent form,
    /// where JavaScript would write all digits.
    /// Non-finite values become the literal `null` (see the type's documentation).
    public init(_ value: Double) {
        if !value.isFinite {
            self.literal = "null"
        } else if value == value.rounded(), abs(value) < 9.2e18 {
            self.literal = String(Int64(value))
        } else {
            var d = value.description
            // Swift writes "1e-07"; JavaScript writes "1e-7".
            if let r = d.range(of: "e-0") { d.replaceSubrange(r, with: "e-") }
            if let r = d.range(of: "e+0") { d.replaceSubrange(r, with: "e+") }
            if d.contains("e"), !d.contains("e-"), !d.contains("e+") { d = d.replacingOccurrences(of: "e", with: "e+") }
            self.literal = d
        }
    }

    /// The value as `Int` when the literal is an integer (no fraction, no exponent) that fits.
    public var intValue: Int? { Int(literal) }

    /// The value as `Double` (may be infinite for huge literals such as `1e400`; NaN for `null`).
    public var doubleValue: Double { Double(literal) ?? .nan }

    public var description: String { literal }
}

/// An ordered JSON object: (key, value) pairs in arrival order. Setting an existing key replaces its value
/// in place; parsing a text with a duplicate key keeps the later value, as `JSON.parse` does.
public struct SocketIOObject: Sendable, Hashable, Sequence {
    @usableFromInline var pairs: [(String, SocketIOValue)]

    /// An empty object.
    public init() { pairs = [] }

    /// An object of these pairs; a later duplicate key replaces the earlier value.
    public init(_ pairs: [(String, SocketIOValue)]) {
        self.pairs = []
        self.pairs.reserveCapacity(pairs.count)
        for (k, v) in pairs { self[k] = v }
    }

    /// The value for `key`; setting nil removes the key.
    public subscript(key: String) -> SocketIOValue? {
        get {
            for p in pairs where p.0 == key { return p.1 }
            return nil
        }
        set {
            if let i = pairs.firstIndex(where: { $0.0 == key }) {
                if let v = newValue { pairs[i].1 = v } else { pairs.remove(at: i) }
            } else if let v = newValue {
                pairs.append((key, v))
            }
        }
    }

    /// The keys in order.
    public var keys: [String] { pairs.map { $0.0 } }
    /// The number of members.
    public var count: Int { pairs.count }

    mutating func appendUnchecked(_ key: String, _ value: SocketIOValue) { pairs.append((key, value)) }

    public func makeIterator() -> IndexingIterator<[(String, SocketIOValue)]> { pairs.makeIterator() }

    public static func == (a: SocketIOObject, b: SocketIOObject) -> Bool {
        a.pairs.count == b.pairs.count && zip(a.pairs, b.pairs).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    public func hash(into h: inout Hasher) {
        h.combine(pairs.count)
        for (k, v) in pairs { h.combine(k); h.combine(v) }
    }
}

extension SocketIOObject: ExpressibleByDictionaryLiteral {
    /// An object of these pairs, in order.
    public init(dictionaryLiteral elements: (String, SocketIOValue)...) { self.init(elements) }
}
