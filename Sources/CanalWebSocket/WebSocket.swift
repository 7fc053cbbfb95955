import CanalWebSocketCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A WebSocket client shaped like the browser's `WebSocket` (WHATWG WebSockets Standard):
/// it connects on creation and reports through `onopen`, `onmessage`, `onerror` and
/// `onclose`.
///
/// Handlers run on the connection's event loop, one at a time, in order; `onopen` always
/// comes before the first `onmessage`. Set them right after creating the object, as in a
/// browser. Use it to port browser code or for quick scripts; for structured code prefer
/// `WebSocketClient.connect(to:body:)`.
public final class WebSocket: Sendable {
    /// The connection's state, with the browser's numbering.
    public enum ReadyState: Int, Sendable {
        case connecting = 0
        case open = 1
        case closing = 2
        case closed = 3
    }

    /// The URL given at creation.
    public let url: String

    private struct State {
        var readyState = ReadyState.connecting
        var subprotocol = ""
        var bufferedAmount = 0
        var connection: WebSocketEventLoopConnection?
        var onopen: (@Sendable () -> Void)?
        var onmessage: (@Sendable (WebSocketMessage) -> Void)?
        var onerror: (@Sendable (any Error) -> Void)?
        var onclose: (@Sendable (WebSocketCloseStatus) -> Void)?
        var undelivered: (error: any Error, status: WebSocketCloseStatus)?
    }

    private let state = NIOLockedValueBox(State())

    /// Starts connecting to `url` (`ws://`), offering `protocols`.
    public init(
        url: String,
        protocols: [String] = [],
        configuration: WebSocketClientConfiguration = WebSocketClientConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.url = url
        var settings = configuration
        settings.protocols = protocols
        let configuration = settings
        let eventLoop = eventLoopGroup.next()
        // Attach the completion handler on the event loop itself, so it runs before any
        // message of the new connection is delivered.
        eventLoop.execute { [self] in
            WebSocketClient.connect(to: url, configuration: configuration, eventLoopGroup: eventLoop) {
                [weak self] in
                { event, _ in self?.handle(event) }
            }.whenComplete { [self] result in
                switch result {
                case .success(let connection):
                    let (aborted, onopen, onerror) = state.withLockedValue { state in
                        state.connection = connection
                        state.subprotocol = connection.subprotocol ?? ""
                        guard state.readyState == .connecting else { return (true, state.onopen, state.onerror) }
                        state.readyState = .open
                        return (false, state.onopen, state.onerror)
                    }
                    if aborted {
                        // close() was called while connecting: fail the connection (error, then
                        // close with 1006 when the channel goes).
                        onerror?(WebSocketUsageError("the connection was closed before it opened"))
                        connection.channel.close(promise: nil)
                    } else {
                        onopen?()
                    }
                case .failure(let error):
                    let status = WebSocketCloseStatus(code: .abnormalClosure, reason: "", wasClean: false)
                    let (onerror, onclose) = state.withLockedValue { state in
                        state.readyState = .closed
                        if state.onclose == nil { state.undelivered = (error, status) }
                        return (state.onerror, state.onclose)
                    }
                    if let onclose {
                        onerror?(error)
                        onclose(status)
                    }
                }
            }
        }
    }

    private func handle(_ event: WebSocketEvent) {
        switch event {
        case .message(let message):
            state.withLockedValue { $0.onmessage }?(message)
        case .closeReceived:
            state.withLockedValue { state in
                if state.readyState == .open { state.readyState = .closing }
            }
        case .closed(let status):
            let (onerror, onclose) = state.withLockedValue { state in
                state.readyState = .closed
                return (state.onerror, state.onclose)
            }
            if let error = status.error { onerror?(error) }
            onclose?(status)
        case .ping, .pong:
            break
        }
    }

    /// The current state.
    public var readyState: ReadyState { state.withLockedValue { $0.readyState } }

    /// Bytes of application data queued by `send` and not yet handed to the network.
    public var bufferedAmount: Int { state.withLockedValue { $0.bufferedAmount } }

    /// The subprotocol the server selected, or "" (as in browsers).
    public var `protocol`: String { state.withLockedValue { $0.subprotocol } }

    public var onopen: (@Sendable () -> Void)? {
        get { state.withLockedValue { $0.onopen } }
        set { state.withLockedValue { $0.onopen = newValue } }
    }

    public var onmessage: (@Sendable (WebSocketMessage) -> Void)? {
        get { state.withLockedValue { $0.onmessage } }
        set { state.withLockedValue { $0.onmessage = newValue } }
    }

    public var onerror: (@Sendable (any Error) -> Void)? {
        get { state.withLockedValue { $0.onerror } }
        set { state.withLockedValue { $0.onerror = newValue } }
    }

    public var onclose: (@Sendable (WebSocketCloseStatus) -> Void)? {
        get { state.withLockedValue { $0.onclose } }
        set {
            let (pending, onerror) = state.withLockedValue { state in
                state.onclose = newValue
                defer { if newValue != nil { state.undelivered = nil } }
                return (newValue == nil ? nil : state.undelivered, state.onerror)
            }
            if let pending, let newValue {
                onerror?(pending.error)
                newValue(pending.status)
            }
        }
    }

    /// Sends a text message.
    /// - Throws: `invalidState` while still connecting (as browsers do).
    public func send(_ text: String) throws(WebSocketUsageError) {
        try send(.text(text))
    }

    /// Sends a binary message.
    public func send(_ data: [UInt8]) throws(WebSocketUsageError) {
        try send(.binary(data))
    }

    /// Sends a binary message.
    public func send(_ data: ByteBuffer) throws(WebSocketUsageError) {
        try send(.binary(data))
    }

    /// Sends a message. Once closing, the data is counted in `bufferedAmount` and
    /// dropped, as the standard says.
    public func send(_ message: WebSocketMessage) throws(WebSocketUsageError) {
        let size = message.data.readableBytes
        let (connecting, connection) = state.withLockedValue { state -> (Bool, WebSocketEventLoopConnection?) in
            guard state.readyState != .connecting else { return (true, nil) }
            state.bufferedAmount += size
            return (false, state.readyState == .open ? state.connection : nil)
        }
        guard !connecting else { throw WebSocketUsageError("InvalidStateError: the connection is not open yet") }
        guard let connection else { return }
        connection.send(.message(message)).whenComplete { [state] _ in
            state.withLockedValue { $0.bufferedAmount -= size }
        }
    }

    /// Starts the closing handshake.
    ///
    /// - Parameters:
    ///   - code: 1000 or 3000-4999, as browsers allow; nil sends no code.
    ///   - reason: at most 123 bytes of UTF-8.
    public func close(code: UInt16? = nil, reason: String = "") throws(WebSocketUsageError) {
        if let code, code != 1000, !(3000...4999).contains(code) {
            throw WebSocketUsageError("InvalidAccessError: close codes are 1000 or 3000-4999")
        }
        guard reason.utf8.count <= 123 else {
            throw WebSocketUsageError("SyntaxError: the close reason is longer than 123 bytes")
        }
        let connection = state.withLockedValue { state -> WebSocketEventLoopConnection? in
            switch state.readyState {
            case .closing, .closed:
                return nil
            case .connecting:
                // The connection is aborted when the handshake completes (see init).
                state.readyState = .closing
                return nil
            case .open:
                state.readyState = .closing
                return state.connection
            }
        }
        connection?.send(.close(code: code.map { WebSocketCloseCode($0) }, reason: reason))
    }
}
