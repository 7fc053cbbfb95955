import CanalWebSocketCore
import NIOCore

/// Feeds fuzz input to a WebSocket endpoint as a driver would, answers its messages, and
/// checks what the RFC and the core's own contract promise, whatever the input:
///
/// - a text message is valid UTF-8 (RFC 6455 §8.1);
/// - `.closed` comes once, last, and leaves the endpoint `.closed`;
/// - everything the endpoint sends is valid WebSocket for a peer with the other role (a
///   strict endpoint of our own, with the conformance limits, reads it without failing).
///
/// The endpoint echoes each message (through the deferred output when it fragments),
/// and pings when a message starts with "P" and closes when one starts with "C".
public struct ConnectionDriver {
    /// Small limits, so that fuzzing reaches them: frames of 4 KiB, messages of 8 KiB in
    /// at most 16 fragments; what the endpoint sends is cut in 100-byte fragments.
    public static let limits = WebSocketConfiguration(
        maxFrameSize: 4096,
        maxMessageSize: 8192,
        maxFragmentCount: 16,
        outboundFragmentSize: 100
    )

    public var endpoint: WebSocketConnection
    public var peer: WebSocketConnection
    private var closedSeen = false

    public init(endpoint: WebSocketConnection, peer: WebSocketConnection) {
        self.endpoint = endpoint
        self.peer = peer
    }

    public mutating func run(_ input: FuzzInput) {
        for (index, chunk) in input.chunks.enumerated() {
            endpoint.receive(ByteBuffer(bytes: chunk))
            handleEvents()
            // Half the time the transport is "full": deferred data waits.
            forwardOutput(includingDeferredData: index % 2 == 0)
        }
        forwardOutput(includingDeferredData: true)
        endpoint.receiveEOF()
        handleEvents()
        forwardOutput(includingDeferredData: true)
        fuzzCheck(endpoint.state == .closed, "state after EOF: \(endpoint.state)")
        fuzzCheck(closedSeen, "no .closed event after EOF")
        fuzzCheck(endpoint.nextEvent() == nil, "an event after .closed")
        peer.receiveEOF()
        while let event = peer.nextEvent() {
            if case .closed(let status) = event {
                fuzzCheck(status.error == nil, "the peer rejected our output: \(String(describing: status.error))")
            }
        }
    }

    private mutating func handleEvents() {
        while let event = endpoint.nextEvent() {
            fuzzCheck(!closedSeen, "event \(event) after .closed")
            switch event {
            case .message(let message):
                if message.kind == .text {
                    let valid = message.data.readableBytesView.withUnsafeBytes {
                        String(validating: $0.bindMemory(to: UInt8.self), as: UTF8.self) != nil
                    }
                    fuzzCheck(valid, "a text message that is not UTF-8")
                }
                let first = message.data.readableBytesView.first
                if first == UInt8(ascii: "P") {
                    try? endpoint.sendPing(ByteBuffer(bytes: message.data.readableBytesView.prefix(125)))
                } else if first == UInt8(ascii: "C") {
                    try? endpoint.close(code: .normalClosure, reason: "bye")
                } else {
                    try? endpoint.send(message)
                }
            case .ping(let payload):
                fuzzCheck(payload.readableBytes <= 125, "a ping payload over 125 bytes")
            case .pong(let payload):
                fuzzCheck(payload.readableBytes <= 125, "a pong payload over 125 bytes")
            case .closeReceived(let code, let reason):
                fuzzCheck(code.map { $0.isAcceptableFromPeer } ?? true, "close code \(String(describing: code))")
                fuzzCheck(reason.utf8.count <= 123, "a close reason over 123 bytes")
            case .closed:
                fuzzCheck(endpoint.state == .closed, ".closed in state \(endpoint.state)")
                closedSeen = true
            }
        }
    }

    /// Hands what the endpoint sends to the peer, which must find it valid.
    private mutating func forwardOutput(includingDeferredData: Bool) {
        while let output = endpoint.nextOutput(includingDeferredData: includingDeferredData) {
            guard case .bytes(let bytes) = output else { continue }
            peer.receive(bytes)
            while let event = peer.nextEvent() {
                if case .closed(let status) = event {
                    fuzzCheck(status.error == nil, "the peer rejected our output: \(String(describing: status.error))")
                }
            }
            // The peer's answers (pongs, close replies) are not fed back: one direction at a time.
            while peer.nextOutput() != nil {}
        }
    }
}
