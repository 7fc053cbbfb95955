import CanalSocketIOCore
import NIOCore

/// An event a client emitted: its name, its arguments and, when the client asked for
/// one, the acknowledgement to call.
public struct SocketIOEvent: Sendable {
    public let name: String
    public let arguments: [SocketIOValue]
    /// Present when the client asked for an acknowledgement; call it once.
    public let ack: SocketIOAck?

    public init(name: String, arguments: [SocketIOValue], ack: SocketIOAck? = nil) {
        self.name = name
        self.arguments = arguments
        self.ack = ack
    }

    /// The argument at `index`, or nil.
    public subscript(index: Int) -> SocketIOValue? {
        arguments.indices.contains(index) ? arguments[index] : nil
    }

    /// Decodes the argument at `index` into an application type.
    public func decode<Value: Decodable>(_ type: Value.Type, at index: Int = 0) throws -> Value {
        guard let value = self[index] else {
            throw SocketIOError("event \"\(name)\" has no argument \(index)")
        }
        return try SocketIOValueDecoder().decode(type, from: value)
    }
}

/// The acknowledgement of one event: calling it sends the ACK packet with these
/// arguments. Only the first call counts. Safe to call from any thread or task.
public struct SocketIOAck: Sendable {
    let send: @Sendable ([SocketIOValue]) -> Void

    init(send: @escaping @Sendable ([SocketIOValue]) -> Void) {
        self.send = send
    }

    public func callAsFunction(_ arguments: any SocketIOArgument...) {
        send(arguments.map(\.socketIOValue))
    }

    /// Acknowledges with these arguments.
    public func callAsFunction(arguments: [SocketIOValue]) {
        send(arguments)
    }

    /// Acknowledges with one `Encodable` value.
    public func callAsFunction<Value: Encodable>(encoding value: Value) throws {
        send([try SocketIOValueEncoder().encode(value)])
    }
}

/// Why an acknowledgement did not come.
public enum SocketIOAckError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No answer within the timeout ("operation has timed out").
    case timeout
    /// The socket disconnected before answering.
    case disconnected

    public var description: String {
        switch self {
        case .timeout: return "operation has timed out"
        case .disconnected: return "socket has been disconnected"
        }
    }
}

/// Why a socket left its namespace, named as the official server names it.
public enum SocketIODisconnectReason: String, Sendable, Hashable, CaseIterable {
    /// The server called `disconnect()`.
    case serverNamespaceDisconnect = "server namespace disconnect"
    /// The client called `disconnect()` (a DISCONNECT packet).
    case clientNamespaceDisconnect = "client namespace disconnect"
    /// The server closed the underlying connection (`disconnect(close: true)`).
    case serverDisconnect = "forced close"
    /// The client sent a packet that makes no sense in its state (an event for a namespace
    /// it has not joined, a second CONNECT): the server closed the connection.
    case forcedServerClose = "forced server close"
    /// The connection closed (the client went away, or closed it).
    case transportClose = "transport close"
    /// The connection failed.
    case transportError = "transport error"
    case pingTimeout = "ping timeout"
    /// The client sent something that is not Socket.IO.
    case parseError = "parse error"
    /// The server is shutting down.
    case serverShuttingDown = "server shutting down"
    /// The client did not read what was sent to it (Canal's bound; the official server has none).
    case slowConsumer = "slow consumer"

    /// Reasons after which the session may be recovered (connection state recovery).
    var isRecoverable: Bool {
        switch self {
        case .transportClose, .transportError, .pingTimeout, .serverDisconnect, .forcedServerClose,
            .serverShuttingDown, .slowConsumer:
            return true
        case .serverNamespaceDisconnect, .clientNamespaceDisconnect, .parseError:
            return false
        }
    }
}

/// Refuses a connection from a middleware: the client gets `connect_error` with this
/// message and data.
public struct SocketIOConnectError: Error, Sendable, Hashable {
    public var message: String
    public var data: SocketIOValue?

    public init(_ message: String, data: SocketIOValue? = nil) {
        self.message = message
        self.data = data
    }

    var packetData: SocketIOValue {
        var object = SocketIOObject()
        object["message"] = .string(message)
        if let data { object["data"] = data }
        return .object(object)
    }
}
