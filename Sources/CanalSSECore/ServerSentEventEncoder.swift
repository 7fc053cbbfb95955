import NIOCore

/// Writes events, comments and retry hints in the `text/event-stream` format. Pure: bytes
/// out, no I/O.
///
/// Every line ends with LF alone (the format accepts CR, LF and CRLF; LF is the shortest).
/// A value is written after `": "`, so a value that starts with a space keeps it: readers
/// drop exactly one space after the colon.
public enum ServerSentEventEncoder {
    /// Appends `event` to `buffer`, ending with the blank line that dispatches it.
    public static func encode(_ event: ServerSentEvent, into buffer: inout ByteBuffer) throws {
        if let retry = event.retry, retry < 0 { throw ServerSentEventError.negativeRetry }
        if let name = event.event, !name.isEmpty {
            guard !containsLineBreak(name) else { throw ServerSentEventError.lineBreak(in: "event") }
            field("event", name, into: &buffer)
        }
        if let id = event.id {
            guard !containsLineBreak(id) else { throw ServerSentEventError.lineBreak(in: "id") }
            guard !id.utf8.contains(0) else { throw ServerSentEventError.nullInID }
            field("id", id, into: &buffer)
        }
        if let retry = event.retry {
            field("retry", String(retry), into: &buffer)
        }
        // WHATWG: each `data` line adds its value and LF to the data buffer; CR, LF and
        // CRLF all end a line, so every kind of break in `data` becomes a new field.
        var start = event.data.utf8.startIndex
        let utf8 = event.data.utf8
        var index = start
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                field("data", Substring(utf8[start..<index]), into: &buffer)
                var next = utf8.index(after: index)
                if byte == UInt8(ascii: "\r"), next < utf8.endIndex, utf8[next] == UInt8(ascii: "\n") {
                    next = utf8.index(after: next)
                }
                start = next
                index = next
            } else {
                index = utf8.index(after: index)
            }
        }
        field("data", Substring(utf8[start..<utf8.endIndex]), into: &buffer)
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// `event` as bytes; see `encode(_:into:)`.
    public static func encode(_ event: ServerSentEvent) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(event.data.utf8.count + 16)
        try encode(event, into: &buffer)
        return buffer
    }

    /// A comment: readers ignore it. Sent alone (`":\n"`) it keeps proxies from closing an
    /// idle stream. Line breaks in `text` start new comment lines.
    public static func comment(_ text: String = "", into buffer: inout ByteBuffer) {
        guard !text.isEmpty else {
            buffer.writeStaticString(":\n")
            return
        }
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            buffer.writeStaticString(": ")
            buffer.writeSubstring(line)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
    }

    /// A `retry:` line alone: sets the client's reconnection delay without dispatching.
    public static func retry(milliseconds: Int, into buffer: inout ByteBuffer) {
        field("retry", String(max(0, milliseconds)), into: &buffer)
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    private static func field(_ name: StaticString, _ value: some StringProtocol, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(name)
        if value.isEmpty {
            buffer.writeInteger(UInt8(ascii: ":"))
        } else {
            buffer.writeStaticString(": ")
            buffer.writeString(String(value))
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    private static func containsLineBreak(_ text: String) -> Bool {
        text.utf8.contains { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }
    }
}
