import CanalSocketIOCore
import NIOCore

/// MessagePack (the msgpack spec, "MessagePack specification", 2017 revision) for the
/// values Socket.IO carries, without I/O: `SocketIOValue` in, bytes out, and back.
///
/// The official Redis adapters encode messages holding binary attachments this way
/// (`@msgpack/msgpack` in the streams adapter). The mapping:
///
/// | SocketIOValue | MessagePack written | read back from |
/// | --- | --- | --- |
/// | `.null` | nil `c0` | nil |
/// | `.bool` | false `c2` / true `c3` | bool |
/// | `.number`, integral, fits Int64 | the smallest int or uint form | any int / uint |
/// | `.number`, otherwise | float 64 `cb` | float 32 / float 64 |
/// | `.string` | fixstr / str 8 / 16 / 32 | str |
/// | `.binary` | bin 8 / 16 / 32 | bin |
/// | `.array` | fixarray / array 16 / 32 | array |
/// | `.object` | fixmap / map 16 / 32, string keys | map (integer keys become their decimal text) |
///
/// Ext types (timestamps and others) are refused: nothing in the adapters' messages uses them.
public enum MessagePack {
    /// Limits for `decode`: bytes from another process are untrusted.
    public struct Limits: Sendable, Hashable {
        public var maxDepth: Int
        /// Most elements in one array or map.
        public var maxContainerLength: Int

        public init(maxDepth: Int = 64, maxContainerLength: Int = 1 << 20) {
            self.maxDepth = maxDepth
            self.maxContainerLength = maxContainerLength
        }
    }

    public struct DecodingError: Error, Sendable, Hashable, CustomStringConvertible {
        public var offset: Int
        public var message: String
        public var description: String { "MessagePack error at byte \(offset): \(message)" }
    }

    // MARK: Encoding

    public static func encode(_ value: SocketIOValue) -> ByteBuffer {
        var buffer = ByteBuffer()
        encode(value, into: &buffer)
        return buffer
    }

    public static func encode(_ value: SocketIOValue, into buffer: inout ByteBuffer) {
        switch value {
        case .null:
            buffer.writeInteger(UInt8(0xc0))
        case .bool(let flag):
            buffer.writeInteger(UInt8(flag ? 0xc3 : 0xc2))
        case .number(let number):
            if let integer = Int64(number.literal) {
                encodeInteger(integer, into: &buffer)
            } else if let unsigned = UInt64(number.literal) {
                buffer.writeInteger(UInt8(0xcf))
                buffer.writeInteger(unsigned)
            } else {
                let double = number.doubleValue
                if double.isNaN {
                    buffer.writeInteger(UInt8(0xc0))  // the literal `null` of a non-finite number
                } else if double == double.rounded(), abs(double) < 9.2e18 {
                    encodeInteger(Int64(double), into: &buffer)
                } else {
                    buffer.writeInteger(UInt8(0xcb))
                    buffer.writeInteger(double.bitPattern)
                }
            }
        case .string(let text):
            let length = text.utf8.count
            writeHeader(length, fix: 0xa0, fixMax: 31, small: 0xd9, medium: 0xda, large: 0xdb, into: &buffer)
            buffer.writeString(text)
        case .binary(let bytes):
            writeHeader(bytes.readableBytes, fix: nil, fixMax: -1, small: 0xc4, medium: 0xc5, large: 0xc6, into: &buffer)
            buffer.writeImmutableBuffer(bytes)
        case .array(let elements):
            writeHeader(elements.count, fix: 0x90, fixMax: 15, small: nil, medium: 0xdc, large: 0xdd, into: &buffer)
            for element in elements { encode(element, into: &buffer) }
        case .object(let object):
            writeHeader(object.count, fix: 0x80, fixMax: 15, small: nil, medium: 0xde, large: 0xdf, into: &buffer)
            for (key, member) in object {
                encode(.string(key), into: &buffer)
                encode(member, into: &buffer)
            }
        }
    }

    /// The smallest form, as @msgpack/msgpack and msgpack-python pick it.
    private static func encodeInteger(_ value: Int64, into buffer: inout ByteBuffer) {
        switch value {
        case 0...0x7f: buffer.writeInteger(UInt8(value))
        case -32 ..< 0: buffer.writeInteger(Int8(value))
        case 0x80...0xff:
            buffer.writeInteger(UInt8(0xcc))
            buffer.writeInteger(UInt8(value))
        case 0x100...0xffff:
            buffer.writeInteger(UInt8(0xcd))
            buffer.writeInteger(UInt16(value))
        case 0x1_0000...0xffff_ffff:
            buffer.writeInteger(UInt8(0xce))
            buffer.writeInteger(UInt32(value))
        case 0x1_0000_0000...:
            buffer.writeInteger(UInt8(0xcf))
            buffer.writeInteger(UInt64(value))
        case -0x80 ..< -32:
            buffer.writeInteger(UInt8(0xd0))
            buffer.writeInteger(Int8(value))
        case -0x8000 ..< -0x80:
            buffer.writeInteger(UInt8(0xd1))
            buffer.writeInteger(Int16(value))
        case -0x8000_0000 ..< -0x8000:
            buffer.writeInteger(UInt8(0xd2))
            buffer.writeInteger(Int32(value))
        default:
            buffer.writeInteger(UInt8(0xd3))
            buffer.writeInteger(value)
        }
    }

    private static func writeHeader(
        _ length: Int, fix: UInt8?, fixMax: Int, small: UInt8?, medium: UInt8, large: UInt8, into buffer: inout ByteBuffer
    ) {
        if let fix, length <= fixMax {
            buffer.writeInteger(fix | UInt8(length))
        } else if let small, length <= 0xff {
            buffer.writeInteger(small)
            buffer.writeInteger(UInt8(length))
        } else if length <= 0xffff {
            buffer.writeInteger(medium)
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(large)
            buffer.writeInteger(UInt32(length))
        }
    }

    // MARK: Decoding

    /// Decodes exactly one value that fills the bytes.
    public static func decode(_ bytes: ByteBuffer, limits: Limits = Limits()) throws(DecodingError) -> SocketIOValue {
        var reader = Reader(buffer: bytes, start: bytes.readerIndex, limits: limits)
        let value = try reader.value(depth: 0)
        guard reader.buffer.readableBytes == 0 else {
            throw reader.error("\(reader.buffer.readableBytes) bytes after the value")
        }
        return value
    }

    private struct Reader {
        var buffer: ByteBuffer
        let start: Int
        let limits: Limits

        func error(_ message: String) -> DecodingError {
            DecodingError(offset: buffer.readerIndex - start, message: message)
        }

        mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(DecodingError) -> T {
            guard let value = buffer.readInteger(as: T.self) else { throw error("truncated") }
            return value
        }

        mutating func length<T: FixedWidthInteger>(_: T.Type) throws(DecodingError) -> Int {
            Int(try integer(T.self))
        }

        mutating func value(depth: Int) throws(DecodingError) -> SocketIOValue {
            let type = try integer(UInt8.self)
            switch type {
            case 0x00...0x7f: return .number(SocketIONumber(Int(type)))
            case 0xe0...0xff: return .number(SocketIONumber(Int(Int8(bitPattern: type))))
            case 0xc0: return .null
            case 0xc2: return .bool(false)
            case 0xc3: return .bool(true)
            case 0xcc: return .number(SocketIONumber(Int(try integer(UInt8.self))))
            case 0xcd: return .number(SocketIONumber(Int(try integer(UInt16.self))))
            case 0xce: return .number(SocketIONumber(Int(try integer(UInt32.self))))
            case 0xcf:
                let value = try integer(UInt64.self)
                return .number(SocketIONumber(literal: String(value))!)
            case 0xd0: return .number(SocketIONumber(Int(try integer(Int8.self))))
            case 0xd1: return .number(SocketIONumber(Int(try integer(Int16.self))))
            case 0xd2: return .number(SocketIONumber(Int(try integer(Int32.self))))
            case 0xd3: return .number(SocketIONumber(Int(try integer(Int64.self))))
            case 0xca: return .number(SocketIONumber(Double(Float(bitPattern: try integer(UInt32.self)))))
            case 0xcb: return .number(SocketIONumber(Double(bitPattern: try integer(UInt64.self))))
            case 0xa0...0xbf: return try string(Int(type & 0x1f))
            case 0xd9: return try string(try length(UInt8.self))
            case 0xda: return try string(try length(UInt16.self))
            case 0xdb: return try string(try length(UInt32.self))
            case 0xc4: return try binary(try length(UInt8.self))
            case 0xc5: return try binary(try length(UInt16.self))
            case 0xc6: return try binary(try length(UInt32.self))
            case 0x90...0x9f: return try array(Int(type & 0x0f), depth: depth)
            case 0xdc: return try array(try length(UInt16.self), depth: depth)
            case 0xdd: return try array(try length(UInt32.self), depth: depth)
            case 0x80...0x8f: return try map(Int(type & 0x0f), depth: depth)
            case 0xde: return try map(try length(UInt16.self), depth: depth)
            case 0xdf: return try map(try length(UInt32.self), depth: depth)
            case 0xc1: throw error("0xc1 is never used")
            default: throw error("ext type 0x\(String(type, radix: 16)) is not supported")
            }
        }

        mutating func string(_ length: Int) throws(DecodingError) -> SocketIOValue {
            guard let bytes = buffer.readSlice(length: length) else { throw error("string of \(length) bytes truncated") }
            guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
                throw error("string is not UTF-8")
            }
            return .string(text)
        }

        mutating func binary(_ length: Int) throws(DecodingError) -> SocketIOValue {
            guard let bytes = buffer.readSlice(length: length) else { throw error("binary of \(length) bytes truncated") }
            return .binary(bytes)
        }

        mutating func container(_ count: Int, minimumBytes: Int, depth: Int) throws(DecodingError) {
            guard depth < limits.maxDepth else { throw error("nested deeper than \(limits.maxDepth)") }
            guard count <= limits.maxContainerLength else { throw error("\(count) elements is over the limit") }
            // Every element takes at least one byte: a count the bytes cannot hold is a lie.
            guard count * minimumBytes <= buffer.readableBytes else { throw error("\(count) elements truncated") }
        }

        mutating func array(_ count: Int, depth: Int) throws(DecodingError) -> SocketIOValue {
            try container(count, minimumBytes: 1, depth: depth)
            var elements: [SocketIOValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count { elements.append(try value(depth: depth + 1)) }
            return .array(elements)
        }

        mutating func map(_ count: Int, depth: Int) throws(DecodingError) -> SocketIOValue {
            try container(count, minimumBytes: 2, depth: depth)
            var object = SocketIOObject()
            for _ in 0..<count {
                let key: String
                switch try value(depth: depth + 1) {
                case .string(let text): key = text
                case .number(let number): key = number.literal
                case .bool(let flag): key = flag ? "true" : "false"
                case .null: key = "null"
                case .array, .object, .binary: throw error("a map key that is not a string or number")
                }
                object[key] = try value(depth: depth + 1)
            }
            return .object(object)
        }
    }
}
