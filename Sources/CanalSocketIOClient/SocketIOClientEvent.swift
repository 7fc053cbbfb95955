import CanalSocketIOCore
import NIOConcurrencyHelpers

/// An event the server emitted to a client socket: its name, its arguments (JSON values,
/// binary attachments as `.binary`), and, when the server asked for one, `ack` to answer it.
public struct SocketIOClientEvent: Sendable {
    /// The namespace it arrived on.
    public let namespace: String
    public let name: String
    public let arguments: [SocketIOValue]
    /// With connection state recovery: the offset the server appended to the event (it is
    /// not among `arguments`). The socket sends the last one back when it reconnects.
    public let offset: String?
    /// Answers the server's acknowledgement request; nil when it asked for none. Only the
    /// first answer is sent.
    public let ack: SocketIOClientAck?

    public init(
        namespace: String, name: String, arguments: [SocketIOValue], offset: String? = nil, ack: SocketIOClientAck? = nil
    ) {
        self.namespace = namespace
        self.name = name
        self.arguments = arguments
        self.offset = offset
        self.ack = ack
    }

    /// The argument at `index`, if there is one.
    public subscript(index: Int) -> SocketIOValue? {
        arguments.indices.contains(index) ? arguments[index] : nil
    }

    /// Decodes the argument at `index` (the first by default) as a `Value`.
    ///
    /// - Throws: `SocketIOClientError` `.coding` when the argument is missing or has another shape.
    public func decode<Value: Decodable>(_ type: Value.Type = Value.self, at index: Int = 0) throws -> Value {
        guard let value = self[index] else {
            throw SocketIOClientError(.coding, "event \"\(name)\" has no argument \(index)")
        }
        do {
            return try SocketIOValueDecoder().decode(type, from: value)
        } catch {
            throw SocketIOClientError(.coding, "argument \(index) of \"\(name)\" is not a \(Value.self): \(error)")
        }
    }
}

/// Answers one acknowledgement request from the server (an EVENT with an id): call it once
/// with the answer's arguments. Later calls send nothing.
public struct SocketIOClientAck: Sendable {
    let send: @Sendable ([SocketIOValue]) -> Void
    private let answered = NIOLockedValueBox(false)

    init(send: @escaping @Sendable ([SocketIOValue]) -> Void) {
        self.send = send
    }

    public func callAsFunction(arguments: [SocketIOValue]) {
        let first = answered.withLockedValue { answered in
            defer { answered = true }
            return !answered
        }
        if first { send(arguments) }
    }

    /// Answers with these arguments, each encoded (`Data` and `ByteBuffer` as binary).
    public func callAsFunction<each Argument: Encodable>(_ arguments: repeat each Argument) throws {
        callAsFunction(arguments: try SocketIOArguments.encode(repeat each arguments))
    }
}

/// Turns Swift values into Socket.IO arguments.
enum SocketIOArguments {
    static func encode<each Argument: Encodable>(_ arguments: repeat each Argument) throws -> [SocketIOValue] {
        var values: [SocketIOValue] = []
        let encoder = SocketIOValueEncoder()
        for argument in repeat each arguments {
            do {
                values.append(try encoder.encode(argument))
            } catch {
                throw SocketIOClientError(.coding, "argument \(values.count) cannot be encoded: \(error)")
            }
        }
        return values
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from arguments: [SocketIOValue], event: String) throws
        -> Value
    {
        // An ack with no argument decodes as JSON null (`Optional`, `SocketIOValue`).
        let value = arguments.first ?? .null
        do {
            return try SocketIOValueDecoder().decode(type, from: value)
        } catch {
            throw SocketIOClientError(.coding, "the answer to \"\(event)\" is not a \(Value.self): \(error)")
        }
    }
}
