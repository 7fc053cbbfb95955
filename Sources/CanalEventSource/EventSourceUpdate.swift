import CanalSSECore
import NIOHTTP1

/// What happens to an `EventSource`, in order.
public enum EventSourceUpdate: Sendable {
    /// A stream opened (200 with `text/event-stream`).
    case open(headers: HTTPHeaders)
    /// An event was dispatched.
    case event(ServerSentEventParser.Event)
    /// The connection ended or could not be made. `wasOpen` tells whether a stream had
    /// opened on it; `cleanly` whether the server ended the response properly.
    case disconnected(wasOpen: Bool, cleanly: Bool, reason: String)
    /// The next attempt starts after `delay`.
    case reconnecting(after: Duration, attempt: Int)
}

/// Why an `EventSource` stopped for good.
public struct EventSourceError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The URL is not an `http://` or `https://` URL with a host.
        case invalidURL
        /// The server answered with a status other than 200 (and other than 204, which
        /// ends the source quietly). WHATWG: fail the connection, do not reconnect.
        case badStatus
        /// The response is not `text/event-stream`.
        case badContentType
        /// An event was larger than `limits.maxEventSize`.
        case eventTooLarge
        /// `maxReconnects` attempts in a row failed.
        case gaveUp
    }

    public let kind: Kind
    /// The HTTP status, for `.badStatus`.
    public let status: HTTPResponseStatus?
    public let description: String

    init(_ kind: Kind, status: HTTPResponseStatus? = nil, _ description: String) {
        self.kind = kind
        self.status = status
        self.description = description
    }
}
