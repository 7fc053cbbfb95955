import CanalSocketIOCore
import Foundation
import NIOCore

/// A value that can be an event argument: JSON values, `ByteBuffer` and `Data` (binary
/// attachments), and arrays and dictionaries of them.
///
/// ```swift
/// socket.emit("message", text)                       // a String
/// socket.emit("score", ["alice": 3, "bob": 5])       // [String: Int]
/// socket.emit("frame", buffer)                       // binary, sent as an attachment
/// socket.emit("mixed", ["a": 1, "b": "x"] as SocketIOValue)
/// socket.emit("typed", encoding: myCodableValue)
/// ```
public protocol SocketIOArgument: Sendable {
    var socketIOValue: SocketIOValue { get }
}

extension SocketIOValue: SocketIOArgument {
    public var socketIOValue: SocketIOValue { self }
}

extension String: SocketIOArgument {
    public var socketIOValue: SocketIOValue { .string(self) }
}

extension Substring: SocketIOArgument {
    public var socketIOValue: SocketIOValue { .string(String(self)) }
}

extension Bool: SocketIOArgument {
    public var socketIOValue: SocketIOValue { .bool(self) }
}

extension Int: SocketIOArgument {
    public var socketIOValue: SocketIOValue { .number(SocketIONumber(self)) }
}

extension Double: SocketIOArgument {
    public var socketIOValue: SocketIOValue { .number(SocketIONumber(self)) }
}

extension ByteBuffer: SocketIOArgument {
    public var socketIOValue: SocketIOValue { .binary(self) }
}

extension Data: SocketIOArgument {
    public var socketIOValue: SocketIOValue { .binary(ByteBuffer(bytes: self)) }
}

extension Array: SocketIOArgument where Element: SocketIOArgument {
    public var socketIOValue: SocketIOValue { .array(map(\.socketIOValue)) }
}

extension Dictionary: SocketIOArgument where Key == String, Value: SocketIOArgument {
    public var socketIOValue: SocketIOValue {
        // Sorted keys: a dictionary has no order, and the same value gives the same text.
        .object(SocketIOObject(sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value.socketIOValue) }))
    }
}

extension Optional: SocketIOArgument where Wrapped: SocketIOArgument {
    public var socketIOValue: SocketIOValue { self?.socketIOValue ?? .null }
}

/// An argument made from any `Encodable` value (`Data` becomes a binary attachment).
public struct SocketIOEncoded: SocketIOArgument {
    public let socketIOValue: SocketIOValue

    public init<Value: Encodable>(_ value: Value) throws {
        socketIOValue = try SocketIOValueEncoder().encode(value)
    }
}

/// Reserved event names: the protocol's own, which an application may not emit.
enum ReservedEvents {
    static let names: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]
}

/// Errors for the caller's misuse.
public struct SocketIOError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }

    static func reserved(_ event: String) -> SocketIOError {
        SocketIOError("\"\(event)\" is a reserved event name")
    }
}
