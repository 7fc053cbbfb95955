import NIOCore

/// Keepalive pings of one connection as a state machine without timers: the driver tells
/// it the time, it says when it next needs to be asked and what to send.
///
/// A ping goes out `interval` after the connection opened, then `interval` after the
/// previous ping once its pong has come back. A ping whose pong has not come back within
/// `timeout` fails the connection, at that moment and not at the next interval. Only a
/// pong carrying the payload of the ping that is waiting answers it: RFC 6455 §5.5.3
/// allows unsolicited pongs (a unidirectional heartbeat) and says a pong answers the
/// most recent ping, so any other pong is ignored.
///
/// Drive it with `deadline` and `tick(now:)`; pass every pong to `pongReceived(_:)`.
/// `WebSocketChannelHandler` does that with its event loop's clock; tests inject time.
struct WebSocketKeepalive: Sendable {
    enum State: Sendable, Equatable {
        /// The next ping goes out at `nextPing`.
        case idle(nextPing: NIODeadline)
        /// A ping with `payload` went out at `sentAt`; its pong is due by `sentAt + timeout`.
        case awaitingPong(payload: ByteBuffer, sentAt: NIODeadline)
        /// Timed out or stopped: nothing more to do.
        case stopped
    }

    enum Action: Sendable, Equatable {
        /// Nothing is due yet.
        case none
        /// Send a ping with this payload.
        case sendPing(ByteBuffer)
        /// The pong did not come back in time: fail the connection (1011).
        case timedOut
    }

    let interval: TimeAmount
    let timeout: TimeAmount
    private(set) var state: State
    /// Numbers each ping's payload, so that a late pong for an earlier ping does not count.
    private var pingCount: UInt32 = 0

    init(interval: TimeAmount, timeout: TimeAmount, now: NIODeadline) {
        self.interval = interval
        self.timeout = timeout
        self.state = .idle(nextPing: now + interval)
    }

    /// When the driver should next call `tick(now:)`; nil once stopped.
    var deadline: NIODeadline? {
        switch state {
        case .idle(let nextPing): return nextPing
        case .awaitingPong(_, let sentAt): return sentAt + timeout
        case .stopped: return nil
        }
    }

    /// Says what is due at `now`. Calling it early is harmless: it returns `.none`.
    mutating func tick(now: NIODeadline) -> Action {
        switch state {
        case .idle(let nextPing):
            guard now >= nextPing else { return .none }
            pingCount &+= 1
            var payload = ByteBuffer()
            payload.writeInteger(pingCount)
            state = .awaitingPong(payload: payload, sentAt: now)
            return .sendPing(payload)
        case .awaitingPong(_, let sentAt):
            guard now >= sentAt + timeout else { return .none }
            state = .stopped
            return .timedOut
        case .stopped:
            return .none
        }
    }

    /// A pong arrived. Returns whether it answered the ping that was waiting.
    @discardableResult
    mutating func pongReceived(_ payload: ByteBuffer, now: NIODeadline) -> Bool {
        guard case .awaitingPong(let expected, let sentAt) = state, payload == expected else { return false }
        state = .idle(nextPing: max(sentAt + interval, now))
        return true
    }

    /// The connection is closing: no more pings, no timeout.
    mutating func stop() {
        state = .stopped
    }
}
