import NIOConcurrencyHelpers

/// Counts the requests and the bytes on the wire of the routes it is attached to
/// (`HTTPRouter.meter(_:with:)`): request heads and bodies as received, response heads,
/// bodies and chunk framing as sent, and for a WebSocket route everything the connection
/// carries after the upgrade (frame headers, masks, pings and closes included).
///
/// Bytes are counted as HTTP sees them, below the HTTP codec and above TLS: under TLS the
/// wire carries a little more (records and their tags). A client that pipelines requests
/// may have the bytes of its next request counted with the current one.
///
/// Use it to show what a technique really costs, as the demo's dashboard does for polling,
/// long polling, server-sent events and WebSocket side by side.
public final class HTTPTrafficMeter: Sendable {
    /// The counts at one moment.
    public struct Snapshot: Sendable, Hashable {
        /// Requests routed here (for a WebSocket route, upgrade requests).
        public var requests: Int
        public var bytesReceived: Int
        public var bytesSent: Int

        public init(requests: Int = 0, bytesReceived: Int = 0, bytesSent: Int = 0) {
            self.requests = requests
            self.bytesReceived = bytesReceived
            self.bytesSent = bytesSent
        }
    }

    private let counts = NIOLockedValueBox(Snapshot())

    public init() {}

    public var snapshot: Snapshot { counts.withLockedValue { $0 } }

    func countRequest(receivedSoFar bytes: Int) {
        counts.withLockedValue {
            $0.requests += 1
            $0.bytesReceived += bytes
        }
    }

    func add(received bytes: Int) {
        counts.withLockedValue { $0.bytesReceived += bytes }
    }

    func add(sent bytes: Int) {
        counts.withLockedValue { $0.bytesSent += bytes }
    }
}
