/// The last answer to a session's polling GET, kept until the client's next GET so that the
/// same GET sent again gets the same answer.
///
/// Why: Engine.IO v4 polling has no acknowledgement, and an answer can be lost after the
/// server wrote it: when another server was relaying the GET (no sticky sessions) and died,
/// or when a proxy's connection to the server broke. A proxy then retries the same request
/// (nginx's `proxy_next_upstream`), `t` included. Official clients (engine.io-client's
/// `timestampParam`, python-engineio's `timestamp_requests`) send a new `t` with every
/// request, so a GET with the `t` of the last answered one is that request again, and the
/// client never got its answer.
///
/// Bound: one answer per session (at most `maxPendingPackets` packets, the outbox it
/// came from), released by the next GET with another `t` or none, and when the session
/// ends. A GET without `t` keeps nothing.
struct EnginePollReplay: Sendable, Hashable {
    /// The `t` of the GET being held.
    private var heldRequestID: String?
    /// The `t` of the last GET answered, and its answer.
    private var answeredRequestID: String?
    private var answer: [EnginePacket] = []

    /// A GET arrived: the kept answer when it is the same request again; otherwise nil, and
    /// the kept answer goes (the client has it, since it asks for more).
    mutating func repeatedAnswer(requestID: String?) -> [EnginePacket]? {
        if let requestID, requestID == answeredRequestID { return answer }
        release()
        return nil
    }

    /// The GET with this `t` is held.
    mutating func held(requestID: String?) {
        heldRequestID = requestID
    }

    /// The held GET was answered with these packets.
    mutating func answeredHeld(_ packets: [EnginePacket]) {
        answered(requestID: heldRequestID, packets)
    }

    /// The GET with this `t` was answered with these packets.
    mutating func answered(requestID: String?, _ packets: [EnginePacket]) {
        heldRequestID = nil
        answeredRequestID = requestID
        answer = requestID == nil ? [] : packets
    }

    /// Nothing is kept any more: the session moved on or ended.
    mutating func release() {
        heldRequestID = nil
        answeredRequestID = nil
        answer = []
    }
}
