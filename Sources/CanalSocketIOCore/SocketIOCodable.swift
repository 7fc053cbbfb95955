import Foundation
import NIOCore

/// Turns `Encodable` values into ``SocketIOValue`` trees. `Data` and `ByteBuffer` become `.binary`;
/// non-finite floating-point values throw (JSON cannot carry them).
public struct SocketIOValueEncoder {
    public init() {}

    /// Encodes `value`.
    public func encode<T: Encodable>(_ value: T) throws -> SocketIOValue {
        try boxValue(value, codingPath: [])
    }
}

/// Builds `Decodable` values from ``SocketIOValue`` trees. `.binary` decodes as `Data` or `ByteBuffer`.
public struct SocketIOValueDecoder {
    public init() {}

    /// Decodes a `T` from `value`.
    public func decode<T: Decodable>(_ type: T.Type, from value: SocketIOValue) throws -> T {
        try unboxValue(type, value, codingPath: [])
    }
}

// MARK: - Encoding

private final class Node {
    enum Kind { case single(SocketIOValue?), array([Node]), object([(String, Node)]) }
    var kind: Kind = .single(nil)
    func value() -> SocketIOValue {
        switch kind {
        case .single(let v): return v ?? .null
        case .array(let a): return .array(a.map { $0.value() })
        case .object(let o): return .object(SocketIOObject(o.map { ($0.0, $0.1.value()) }))
        }
    }
}

/// A coding key for any name or index: the keys of JSON objects and the paths of arrays.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue; self.intValue = nil }
    init(intValue: Int) { self.stringValue = String(intValue); self.intValue = intValue }
}

private func boxValue<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> SocketIOValue {
    if let d = value as? Data { return .binary(ByteBuffer(bytes: d)) }
    if let b = value as? ByteBuffer { return .binary(b) }
    if let v = value as? SocketIOValue { return v }
    let node = Node()
    try value.encode(to: ValueEncoder(node: node, codingPath: codingPath))
    return node.value()
}

private func number<F: BinaryFloatingPoint>(_ v: F, _ path: [any CodingKey]) throws -> SocketIOValue {
    let d = Double(v)
    guard d.isFinite else {
        throw EncodingError.invalidValue(v, .init(codingPath: path, debugDescription: "non-finite number"))
    }
    return .number(SocketIONumber(d))
}

private struct ValueEncoder: Encoder {
    let node: Node
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node.kind {} else { node.kind = .object([]) }
        return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = node.kind {} else { node.kind = .array([]) }
        return Unkeyed(node: node, codingPath: codingPath)
    }
    func singleValueContainer() -> any SingleValueEncodingContainer { Single(node: node, codingPath: codingPath) }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        var codingPath: [any CodingKey]
        func set(_ v: SocketIOValue) { node.kind = .single(v) }
        mutating func encodeNil() throws { set(.null) }
        mutating func encode(_ v: Bool) throws { set(.bool(v)) }
        mutating func encode(_ v: String) throws { set(.string(v)) }
        mutating func encode(_ v: Double) throws { set(try number(v, codingPath)) }
        mutating func encode(_ v: Float) throws { set(try number(v, codingPath)) }
        mutating func encode(_ v: Int) throws { set(.number(SocketIONumber(v))) }
        mutating func encode(_ v: Int8) throws { set(.number(SocketIONumber(Int(v)))) }
        mutating func encode(_ v: Int16) throws { set(.number(SocketIONumber(Int(v)))) }
        mutating func encode(_ v: Int32) throws { set(.number(SocketIONumber(Int(v)))) }
        mutating func encode(_ v: Int64) throws { set(.number(SocketIONumber(uncheckedLiteral: String(v)))) }
        mutating func encode(_ v: UInt) throws { set(.number(SocketIONumber(uncheckedLiteral: String(v)))) }
        mutating func encode(_ v: UInt8) throws { set(.number(SocketIONumber(Int(v)))) }
        mutating func encode(_ v: UInt16) throws { set(.number(SocketIONumber(Int(v)))) }
        mutating func encode(_ v: UInt32) throws { set(.number(SocketIONumber(Int(v)))) }
        mutating func encode(_ v: UInt64) throws { set(.number(SocketIONumber(uncheckedLiteral: String(v)))) }
        mutating func encode<T: Encodable>(_ v: T) throws { set(try boxValue(v, codingPath: codingPath)) }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        var codingPath: [any CodingKey]
        func put(_ key: Key, _ child: Node) {
            guard case .object(var o) = node.kind else { return }
            if let i = o.firstIndex(where: { $0.0 == key.stringValue }) { o[i].1 = child } else { o.append((key.stringValue, child)) }
            node.kind = .object(o)
        }
        func put(_ key: Key, _ v: SocketIOValue) { let n = Node(); n.kind = .single(v); put(key, n) }
        mutating func encodeNil(forKey key: Key) throws { put(key, .null) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            put(key, try boxValue(value, codingPath: codingPath + [key]))
        }
        mutating func nestedContainer<N: CodingKey>(keyedBy t: N.Type, forKey key: Key) -> KeyedEncodingContainer<N> {
            let n = Node(); n.kind = .object([]); put(key, n)
            return KeyedEncodingContainer(Keyed<N>(node: n, codingPath: codingPath + [key]))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let n = Node(); n.kind = .array([]); put(key, n)
            return Unkeyed(node: n, codingPath: codingPath + [key])
        }
        mutating func superEncoder() -> any Encoder {
            let n = Node(); put(Key(stringValue: "super")!, n)
            return ValueEncoder(node: n, codingPath: codingPath)
        }
        mutating func superEncoder(forKey key: Key) -> any Encoder {
            let n = Node(); put(key, n)
            return ValueEncoder(node: n, codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        var codingPath: [any CodingKey]
        var count: Int { if case .array(let a) = node.kind { return a.count }; return 0 }
        func add(_ child: Node) {
            guard case .array(var a) = node.kind else { return }
            a.append(child)
            node.kind = .array(a)
        }
        func add(_ v: SocketIOValue) { let n = Node(); n.kind = .single(v); add(n) }
        mutating func encodeNil() throws { add(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            add(try boxValue(value, codingPath: codingPath + [AnyKey(intValue: count)]))
        }
        mutating func nestedContainer<N: CodingKey>(keyedBy t: N.Type) -> KeyedEncodingContainer<N> {
            let n = Node(); n.kind = .object([]); add(n)
            return KeyedEncodingContainer(Keyed<N>(node: n, codingPath: codingPath))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let n = Node(); n.kind = .array([]); add(n)
            return Unkeyed(node: n, codingPath: codingPath)
        }
        mutating func superEncoder() -> any Encoder { let n = Node(); add(n); return ValueEncoder(node: n, codingPath: codingPath) }
    }
}

// MARK: - Decoding

private func mismatch(_ t: Any.Type, _ path: [any CodingKey], _ v: SocketIOValue) -> DecodingError {
    .typeMismatch(t, .init(codingPath: path, debugDescription: "expected \(t), found \(SocketIOJSON.string(v))"))
}

private func unboxValue<T: Decodable>(_ type: T.Type, _ v: SocketIOValue, codingPath: [any CodingKey]) throws -> T {
    if type == Data.self {
        guard case .binary(let b) = v else { throw mismatch(type, codingPath, v) }
        return Data(b.readableBytesView) as! T
    }
    if type == ByteBuffer.self {
        guard case .binary(let b) = v else { throw mismatch(type, codingPath, v) }
        return b as! T
    }
    if type == SocketIOValue.self { return v as! T }
    return try T(from: ValueDecoder(value: v, codingPath: codingPath))
}

private struct ValueDecoder: Decoder {
    let value: SocketIOValue
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let o) = value else { throw mismatch(SocketIOObject.self, codingPath, value) }
        return KeyedDecodingContainer(Keyed<Key>(object: o, codingPath: codingPath))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let a) = value else { throw mismatch([SocketIOValue].self, codingPath, value) }
        return Unkeyed(array: a, codingPath: codingPath)
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(value: value, codingPath: codingPath) }

    static func integer<I: FixedWidthInteger>(_ t: I.Type, _ v: SocketIOValue, _ path: [any CodingKey]) throws -> I {
        guard case .number(let n) = v else { throw mismatch(t, path, v) }
        if let i = I(n.literal) { return i }
        let d = n.doubleValue
        if d.isFinite, d == d.rounded(), let i = I(exactly: d) { return i }
        throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "\(n.literal) does not fit \(t)"))
    }

    struct Single: SingleValueDecodingContainer {
        let value: SocketIOValue
        var codingPath: [any CodingKey]
        func decodeNil() -> Bool { value.isNull }
        func decode(_ t: Bool.Type) throws -> Bool {
            guard let b = value.boolValue else { throw mismatch(t, codingPath, value) }
            return b
        }
        func decode(_ t: String.Type) throws -> String {
            guard let s = value.stringValue else { throw mismatch(t, codingPath, value) }
            return s
        }
        func decode(_ t: Double.Type) throws -> Double {
            guard let d = value.doubleValue else { throw mismatch(t, codingPath, value) }
            return d
        }
        func decode(_ t: Float.Type) throws -> Float { Float(try decode(Double.self)) }
        func decode(_ t: Int.Type) throws -> Int { try integer(t, value, codingPath) }
        func decode(_ t: Int8.Type) throws -> Int8 { try integer(t, value, codingPath) }
        func decode(_ t: Int16.Type) throws -> Int16 { try integer(t, value, codingPath) }
        func decode(_ t: Int32.Type) throws -> Int32 { try integer(t, value, codingPath) }
        func decode(_ t: Int64.Type) throws -> Int64 { try integer(t, value, codingPath) }
        func decode(_ t: UInt.Type) throws -> UInt { try integer(t, value, codingPath) }
        func decode(_ t: UInt8.Type) throws -> UInt8 { try integer(t, value, codingPath) }
        func decode(_ t: UInt16.Type) throws -> UInt16 { try integer(t, value, codingPath) }
        func decode(_ t: UInt32.Type) throws -> UInt32 { try integer(t, value, codingPath) }
        func decode(_ t: UInt64.Type) throws -> UInt64 { try integer(t, value, codingPath) }
        func decode<T: Decodable>(_ t: T.Type) throws -> T { try unboxValue(t, value, codingPath: codingPath) }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let object: SocketIOObject
        var codingPath: [any CodingKey]
        var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }
        func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }
        func get(_ key: Key) throws -> SocketIOValue {
            guard let v = object[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no member \(key.stringValue)"))
            }
            return v
        }
        func decodeNil(forKey key: Key) throws -> Bool { try get(key).isNull }
        func decode<T: Decodable>(_ t: T.Type, forKey key: Key) throws -> T {
            try unboxValue(t, try get(key), codingPath: codingPath + [key])
        }
        func nestedContainer<N: CodingKey>(keyedBy t: N.Type, forKey key: Key) throws -> KeyedDecodingContainer<N> {
            try ValueDecoder(value: try get(key), codingPath: codingPath + [key]).container(keyedBy: t)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try ValueDecoder(value: try get(key), codingPath: codingPath + [key]).unkeyedContainer()
        }
        func superDecoder() throws -> any Decoder {
            ValueDecoder(value: object["super"] ?? .null, codingPath: codingPath)
        }
        func superDecoder(forKey key: Key) throws -> any Decoder {
            ValueDecoder(value: object[key.stringValue] ?? .null, codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let array: [SocketIOValue]
        var codingPath: [any CodingKey]
        var currentIndex = 0
        init(array: [SocketIOValue], codingPath: [any CodingKey]) { self.array = array; self.codingPath = codingPath }
        var count: Int? { array.count }
        var isAtEnd: Bool { currentIndex >= array.count }
        mutating func next() throws -> SocketIOValue {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(SocketIOValue.self, .init(codingPath: codingPath, debugDescription: "array is at end"))
            }
            defer { currentIndex += 1 }
            return array[currentIndex]
        }
        mutating func decodeNil() throws -> Bool {
            if !isAtEnd, array[currentIndex].isNull { currentIndex += 1; return true }
            return false
        }
        mutating func decode<T: Decodable>(_ t: T.Type) throws -> T {
            let path = codingPath + [AnyKey(intValue: currentIndex)]
            return try unboxValue(t, try next(), codingPath: path)
        }
        mutating func nestedContainer<N: CodingKey>(keyedBy t: N.Type) throws -> KeyedDecodingContainer<N> {
            try ValueDecoder(value: try next(), codingPath: codingPath).container(keyedBy: t)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try ValueDecoder(value: try next(), codingPath: codingPath).unkeyedContainer()
        }
        mutating func superDecoder() throws -> any Decoder { ValueDecoder(value: try next(), codingPath: codingPath) }
    }
}
