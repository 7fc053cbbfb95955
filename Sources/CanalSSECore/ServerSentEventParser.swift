import NIOCore

/// Reads a `text/event-stream` body as the WHATWG HTML standard's "event stream
/// interpretation" does, one chunk at a time: bytes in, dispatched events out, no I/O.
///
/// Feed it whatever the connection delivers, split anywhere (inside a UTF-8 sequence or
/// between CR and LF); call `finish()` when the stream ends, which discards an event
/// whose blank line never came (§9.2.6: "If the file ends in the middle of an event,
/// before the final empty line, the incomplete event is not dispatched").
///
/// A parser lives as long as an `EventSource`: `lastEventID` and `reconnectionTime`
/// carry over from one connection to the next. Call `reset()` between connections.
public struct ServerSentEventParser: Sendable {
    /// A dispatched event, as a browser's `MessageEvent` would carry it.
    public struct Event: Sendable, Hashable {
        /// `type`: the `event` field, or "message".
        public var type: String
        public var data: String
        /// The stream's last event ID when this event was dispatched (it persists across
        /// events that carry no `id`).
        public var lastEventID: String

        public init(type: String = "message", data: String, lastEventID: String = "") {
            self.type = type
            self.data = data
            self.lastEventID = lastEventID
        }
    }

    /// The limits a parser enforces on a peer.
    public struct Limits: Sendable, Hashable {
        /// The most bytes one event may take on the wire, lines and line ends included,
        /// before its blank line. Default 1 MiB.
        public var maxEventSize: Int

        public init(maxEventSize: Int = 1 << 20) {
            self.maxEventSize = maxEventSize
        }
    }

    /// What went wrong with the stream: the connection should end.
    public enum Failure: Error, Sendable, Hashable {
        /// An event grew past `Limits.maxEventSize` without its blank line.
        case eventTooLarge(limit: Int)
    }

    public let limits: Limits
    /// The last event ID string: set at each dispatch from the `id` fields seen so far.
    /// Sent as `Last-Event-ID` when reconnecting.
    public private(set) var lastEventID = ""
    /// The latest `retry` value, in milliseconds; nil until the server sends one.
    public private(set) var reconnectionTime: Int?

    private var line: [UInt8] = []
    private var afterCR = false
    private var atStreamStart = true
    private var dataBuffer = ""
    private var hasData = false
    private var eventType = ""
    private var idBuffer = ""
    private var eventBytes = 0

    /// - Parameter lastEventID: the id to resume after, as if an earlier connection had
    ///   dispatched it.
    public init(limits: Limits = Limits(), lastEventID: String = "") {
        self.limits = limits
        self.lastEventID = lastEventID
        self.idBuffer = lastEventID
    }

    /// Parses `bytes` and returns the events they complete, in order.
    public mutating func parse<Bytes: Sequence>(_ bytes: Bytes) throws(Failure) -> [Event] where Bytes.Element == UInt8 {
        var events: [Event] = []
        for byte in bytes {
            if atStreamStart {
                // §9.2.5: one leading U+FEFF BYTE ORDER MARK is skipped (EF BB BF in UTF-8).
                if try skipByteOrderMark(byte) { continue }
            }
            switch byte {
            case UInt8(ascii: "\n"):
                if afterCR {
                    afterCR = false  // the LF of a CRLF: the line ended at the CR
                    continue
                }
                try endLine(into: &events)
            case UInt8(ascii: "\r"):
                afterCR = true
                try endLine(into: &events)
            default:
                afterCR = false
                line.append(byte)
            }
            eventBytes += 1
            if eventBytes > limits.maxEventSize { throw .eventTooLarge(limit: limits.maxEventSize) }
        }
        return events
    }

    /// Parses the readable bytes of `buffer`.
    public mutating func parse(_ buffer: ByteBuffer) throws(Failure) -> [Event] {
        try parse(buffer.readableBytesView)
    }

    /// The stream ended: drops whatever event was incomplete. `lastEventID` and
    /// `reconnectionTime` stay for the next connection.
    public mutating func finish() {
        reset()
    }

    /// Gets ready for the bytes of a new connection, keeping `lastEventID` and
    /// `reconnectionTime`.
    public mutating func reset() {
        line.removeAll(keepingCapacity: true)
        afterCR = false
        atStreamStart = true
        bomMatched = 0
        dataBuffer = ""
        hasData = false
        eventType = ""
        idBuffer = lastEventID
        eventBytes = 0
    }

    // MARK: The byte order mark

    private var bomMatched = 0
    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// True while `byte` belongs to a leading byte order mark. Bytes of a partial mark
    /// followed by something else are kept as text.
    private mutating func skipByteOrderMark(_ byte: UInt8) throws(Failure) -> Bool {
        if byte == Self.byteOrderMark[bomMatched] {
            bomMatched += 1
            if bomMatched == 3 { atStreamStart = false }
            return true
        }
        atStreamStart = false
        line.append(contentsOf: Self.byteOrderMark[..<bomMatched])
        eventBytes += bomMatched
        return false
    }

    // MARK: Lines and fields

    private mutating func endLine(into events: inout [Event]) throws(Failure) {
        defer {
            line.removeAll(keepingCapacity: true)
            // What the event holds so far counts against the limit; comments do not.
            eventBytes = dataBuffer.utf8.count + eventType.utf8.count
        }
        // §9.2.6: an empty line dispatches the event.
        guard !line.isEmpty else {
            dispatch(into: &events)
            return
        }
        // A line that starts with a colon is a comment.
        if line[0] == UInt8(ascii: ":") { return }
        let name: ArraySlice<UInt8>
        var value: ArraySlice<UInt8>
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            name = line[..<colon]
            value = line[(colon + 1)...]
            // "If value starts with a U+0020 SPACE character, remove it from value."
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        } else {
            // A line without a colon is a field name with an empty value.
            name = line[...]
            value = []
        }
        process(field: name, value: value)
    }

    private mutating func process(field name: ArraySlice<UInt8>, value: ArraySlice<UInt8>) {
        // Field names are compared byte for byte, case-sensitively.
        if name.elementsEqual("data".utf8) {
            // "Append the field value to the data buffer, then append a single U+000A LINE FEED."
            dataBuffer += String(decoding: value, as: UTF8.self)
            dataBuffer += "\n"
            hasData = true
        } else if name.elementsEqual("event".utf8) {
            eventType = String(decoding: value, as: UTF8.self)
        } else if name.elementsEqual("id".utf8) {
            // "If the field value does not contain U+0000 NULL, then set the last event ID buffer."
            if !value.contains(0) { idBuffer = String(decoding: value, as: UTF8.self) }
        } else if name.elementsEqual("retry".utf8) {
            // "If the field value consists of only ASCII digits", else ignore the field.
            guard !value.isEmpty, value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                return
            }
            var milliseconds = 0
            for digit in value {
                let (product, overflow) = milliseconds.multipliedReportingOverflow(by: 10)
                milliseconds = overflow ? Int.max : min(Int.max - 9, product) + Int(digit - UInt8(ascii: "0"))
            }
            reconnectionTime = milliseconds
        }
        // Any other field is ignored.
    }

    private mutating func dispatch(into events: inout [Event]) {
        // "Set the last event ID string of the event source to the value of the last event
        // ID buffer", whether or not an event follows.
        lastEventID = idBuffer
        defer {
            dataBuffer = ""
            hasData = false
            eventType = ""
        }
        // "If the data buffer is an empty string, ... return."
        guard hasData else { return }
        // "If the data buffer's last character is a U+000A LINE FEED (LF) character, then
        // remove the last character from the data buffer."
        if dataBuffer.hasSuffix("\n") { dataBuffer.removeLast() }
        events.append(Event(type: eventType.isEmpty ? "message" : eventType, data: dataBuffer, lastEventID: lastEventID))
    }
}
