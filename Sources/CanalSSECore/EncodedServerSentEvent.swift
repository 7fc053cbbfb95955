import NIOCore

/// An event serialised once, to be written to many streams: a broadcast to N subscribers
/// costs one encoding and N writes of the same buffer (ByteBuffer copies share storage).
public struct EncodedServerSentEvent: Sendable, Hashable {
    /// The `text/event-stream` bytes, ending with the blank line that dispatches the event.
    public let bytes: ByteBuffer
    /// The event's id, if it has one: broadcasters keep it to resume after `Last-Event-ID`.
    public let id: String?

    /// Throws what `ServerSentEventEncoder.encode` throws: line breaks in `event` or `id`.
    public init(_ event: ServerSentEvent) throws {
        bytes = try ServerSentEventEncoder.encode(event)
        id = event.id
    }

    /// Bytes that are already in the event-stream format (a comment, a retry line, or events
    /// serialised elsewhere). They go out as they are; nothing checks them.
    public init(preformatted bytes: ByteBuffer, id: String? = nil) {
        self.bytes = bytes
        self.id = id
    }
}
