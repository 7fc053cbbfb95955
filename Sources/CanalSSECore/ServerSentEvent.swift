import NIOCore

/// One event for a `text/event-stream` response (WHATWG HTML, "Server-sent events").
///
/// Build one per update and hand it to an `EventStream` (or an `EventStreamBroadcaster`,
/// which serialises it once for every subscriber). `data` may hold any text, line breaks
/// included: each line goes out as its own `data:` field and the browser joins them with
/// LF again. `event` and `id` are single-line fields.
///
/// ```swift
/// let event = ServerSentEvent(event: "reading", id: "42", data: #"{"celsius":21.5}"#)
/// ```
public struct ServerSentEvent: Sendable, Hashable {
    /// The event type; nil or "" dispatches a `message` event in the browser.
    public var event: String?
    /// The id the client echoes in `Last-Event-ID` when it reconnects. nil leaves the
    /// client's last id unchanged; "" resets it.
    public var id: String?
    /// The payload. "" still dispatches an event (with empty data).
    public var data: String
    /// Asks the client to wait this many milliseconds before reconnecting.
    public var retry: Int?

    public init(event: String? = nil, id: String? = nil, data: String, retry: Int? = nil) {
        self.event = event
        self.id = id
        self.data = data
        self.retry = retry
    }
}

/// Why an event could not be serialised: each is a mistake of the caller, not of a peer.
public struct ServerSentEventError: Error, Hashable, CustomStringConvertible {
    private enum Kind: Hashable {
        case lineBreak(field: String)
        case nullInID
        case negativeRetry
    }

    private let kind: Kind

    /// `event` or `id` holds CR or LF, which would end the field early and let the rest
    /// be read as other fields.
    public static func lineBreak(in field: String) -> ServerSentEventError { .init(kind: .lineBreak(field: field)) }
    /// `id` holds U+0000: clients ignore such an id (WHATWG: "If the field value does not
    /// contain U+0000 NULL, then set the last event ID buffer"), so resumption would break.
    public static let nullInID = ServerSentEventError(kind: .nullInID)
    /// `retry` is negative; the field takes ASCII digits only.
    public static let negativeRetry = ServerSentEventError(kind: .negativeRetry)

    public var description: String {
        switch kind {
        case .lineBreak(let field): return "the \(field) field of a server-sent event may not contain CR or LF"
        case .nullInID: return "the id of a server-sent event may not contain U+0000"
        case .negativeRetry: return "the retry field of a server-sent event must be 0 or more"
        }
    }
}
