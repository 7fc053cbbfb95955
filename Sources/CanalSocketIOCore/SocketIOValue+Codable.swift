import Foundation
import NIOCore

/// `SocketIOValue` is `Codable`, so that it can stand among `Encodable` arguments (a client's
/// `emit("event", 1, "two", value)`) and be a `Decodable` answer. `SocketIOValueEncoder` and
/// `SocketIOValueDecoder` pass it through unchanged; other coders see the JSON it stands for,
/// with binary as `Data`.
extension SocketIOValue: Codable {
    public init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var elements: [SocketIOValue] = []
            while !array.isAtEnd { elements.append(try array.decode(SocketIOValue.self)) }
            self = .array(elements)
            return
        }
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var members = SocketIOObject()
            for key in object.allKeys { members[key.stringValue] = try object.decode(SocketIOValue.self, forKey: key) }
            self = .object(members)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Int.self) {
            self = .number(SocketIONumber(value))
        } else if let value = try? single.decode(Double.self) {
            self = .number(SocketIONumber(value))
        } else if let value = try? single.decode(String.self) {
            self = .string(value)
        } else {
            let data = try single.decode(Data.self)
            self = .binary(ByteBuffer(bytes: data))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .number(let number):
            var single = encoder.singleValueContainer()
            if let integer = number.intValue { try single.encode(integer) } else { try single.encode(number.doubleValue) }
        case .string(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .array(let elements):
            var array = encoder.unkeyedContainer()
            for element in elements { try array.encode(element) }
        case .object(let members):
            var object = encoder.container(keyedBy: AnyKey.self)
            for (key, value) in members { try object.encode(value, forKey: AnyKey(stringValue: key)) }
        case .binary(let bytes):
            var single = encoder.singleValueContainer()
            try single.encode(Data(bytes.readableBytesView))
        }
    }
}
