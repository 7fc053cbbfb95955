import CanalWebSocketCore
import NIOCore

/// The events of one connection as an async sequence: messages, the peer's close frame
/// and the final `.closed`. It ends after the connection closes. Iterate it once.
///
/// Pings are answered automatically and, like pongs, are not part of this sequence: a
/// handler that only writes must not stall the peer's keepalive by leaving them unread.
/// Event-loop handlers (`WebSocketServerHandler.eventLoop`) see them.
///
/// When the application reads slowly, the connection stops reading from the socket, so
/// a fast peer cannot make it buffer without bound.
public struct WebSocketInbound: AsyncSequence, Sendable {
    public typealias Element = WebSocketEvent

    let stream: NIOAsyncChannelInboundStream<WebSocketEvent>

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: NIOAsyncChannelInboundStream<WebSocketEvent>.AsyncIterator
        var finished = false

        public mutating func next() async throws -> WebSocketEvent? {
            guard !finished, let event = try await base.next() else { return nil }
            if case .closed = event { finished = true }
            return event
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator())
    }

    /// The async channel's settings for a buffer of `bufferedEvents` unread events
    /// (at least 1): reading stops above it and resumes under a quarter of it.
    static func channelConfiguration(
        bufferedEvents: Int
    ) -> NIOAsyncChannel<WebSocketEvent, WebSocketOutboundItem>.Configuration {
        let high = Swift.max(1, bufferedEvents)
        return NIOAsyncChannel.Configuration(
            backPressureStrategy: .init(lowWatermark: high / 4, highWatermark: high)
        )
    }

    /// Only the messages. Pings are answered automatically; the sequence ends at close.
    public var messages: Messages { Messages(inbound: self) }

    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = WebSocketMessage
        let inbound: WebSocketInbound

        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: WebSocketInbound.AsyncIterator

            public mutating func next() async throws -> WebSocketMessage? {
                while let event = try await base.next() {
                    if case .message(let message) = event { return message }
                }
                return nil
            }
        }

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(base: inbound.makeAsyncIterator())
        }
    }
}

/// Sends on one connection. Each call suspends while the peer is slow to read, which is
/// how backpressure reaches the application: while more than the connection's
/// `WebSocketOutboundBufferLimits.highWaterMark` bytes of sent payload are not yet
/// written to the socket, and while the channel is not writable.
///
/// Cancelling a task suspended here throws `CancellationError` from the call, and nothing
/// is sent; once the connection has closed, calls throw.
public struct WebSocketOutbound: Sendable {
    let writer: NIOAsyncChannelOutboundWriter<WebSocketOutboundItem>
    /// Shared with the connection's `WebSocketChannelHandler`, which releases what it wrote.
    let gate: WebSocketOutboundGate?

    init(writer: NIOAsyncChannelOutboundWriter<WebSocketOutboundItem>, gate: WebSocketOutboundGate?) {
        self.writer = writer
        self.gate = gate
    }

    /// Payload bytes sent and not yet written to the socket; for tests.
    var pendingBytes: Int { gate?.pendingBytes ?? 0 }

    public func send(_ message: WebSocketMessage) async throws {
        try await write(.message(message))
    }

    public func send(text: String) async throws {
        try await write(.message(.text(text)))
    }

    public func send(binary: ByteBuffer) async throws {
        try await write(.message(.binary(binary)))
    }

    /// Sends one fragment of a message the application streams itself.
    public func sendFragment(_ data: ByteBuffer, kind: WebSocketMessage.Kind, isFinal: Bool) async throws {
        try await write(.fragment(data, kind: kind, isFinal: isFinal))
    }

    public func ping(_ payload: ByteBuffer = ByteBuffer()) async throws {
        try await write(.ping(payload))
    }

    public func pong(_ payload: ByteBuffer = ByteBuffer()) async throws {
        try await write(.pong(payload))
    }

    /// Starts the closing handshake. The inbound sequence ends when it completes.
    /// The bound on pending bytes does not hold it back.
    public func close(code: WebSocketCloseCode? = .normalClosure, reason: String = "") async throws {
        try await writer.write(.close(code: code, reason: reason))
    }

    /// Reserves the item's bytes, then hands it to NIO. The handler releases them once the
    /// write completes; if NIO never takes the item, they are released here.
    private func write(_ item: WebSocketOutboundItem) async throws {
        guard let gate else { return try await writer.write(item) }
        let bytes = WebSocketOutboundGate.bytes(of: item)
        try await gate.reserve(bytes)
        do {
            try await writer.write(item)
        } catch {
            // NIO's writer drops an item it throws for (cancelled or finished).
            gate.release(bytes)
            throw error
        }
    }
}
