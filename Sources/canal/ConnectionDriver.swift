import CanalWebSocket
import NIOConcurrencyHelpers

/// How one connection ended, as `canal` reports it.
struct ConnectionEnd: Sendable {
    var status: WebSocketCloseStatus
    /// This side started the closing handshake (Ctrl-C, end of input, `/close`, `-w`).
    var closedLocally: Bool

    /// 0 for an ending someone chose, 3 for a dropped connection or an error code from the peer.
    var exitStatus: ExitStatus {
        guard status.wasClean, status.error == nil else { return .closedAbnormally }
        if closedLocally { return .success }
        switch status.code {
        case .normalClosure, .goingAway, .noStatusReceived: return .success
        default: return .closedAbnormally
        }
    }
}

/// Runs one open connection in client or listen mode: sends what the person queues on
/// `items`, prints what arrives, and reports how the connection ended.
struct ConnectionDriver: Sendable {
    let console: Console
    let showPingPong: Bool
    /// `client 1` in listen mode.
    let label: String?

    private struct CloseState {
        var sent: (code: UInt16, reason: String)?
        var received = false
    }

    /// Returns once the connection is closed. `alongside` runs while it is open (the
    /// `-w` timer) and is cancelled when it closes.
    func run(
        inbound: WebSocketInbound,
        outbound: WebSocketOutbound,
        items: AsyncStream<WebSocketOutboundItem>,
        alongside: (@Sendable () async -> Void)? = nil
    ) async -> ConnectionEnd {
        let closeState = NIOLockedValueBox(CloseState())
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await item in items {
                    await send(item, on: outbound, closeState: closeState)
                }
            }
            if let alongside {
                group.addTask { await alongside() }
            }
            var status = WebSocketCloseStatus(code: .abnormalClosure, reason: "", wasClean: false)
            do {
                for try await event in inbound {
                    if case .closed(let final) = event { status = final }
                    handle(event, closeState: closeState)
                }
            } catch {
                console.error("connection lost: \(error)", label: label)
            }
            group.cancelAll()
            let closedLocally = closeState.withLockedValue { $0.sent != nil }
            return ConnectionEnd(status: status, closedLocally: closedLocally)
        }
    }

    private func send(
        _ item: WebSocketOutboundItem,
        on outbound: WebSocketOutbound,
        closeState: NIOLockedValueBox<CloseState>
    ) async {
        do {
            switch item {
            case .message(let message): try await outbound.send(message)
            case .fragment(let data, let kind, let isFinal):
                try await outbound.sendFragment(data, kind: kind, isFinal: isFinal)
            case .ping(let data): try await outbound.ping(data)
            case .pong(let data): try await outbound.pong(data)
            case .close(let code, let reason):
                let first = closeState.withLockedValue { state in
                    guard state.sent == nil, !state.received else { return false }
                    state.sent = (code?.rawValue ?? WebSocketCloseCode.noStatusReceived.rawValue, reason)
                    return true
                }
                // A second Ctrl-C or /close while closing changes nothing on the wire.
                if first { try await outbound.close(code: code, reason: reason) }
            }
        } catch is CancellationError {
            return
        } catch {
            console.error("not sent: \(Self.describeSendError(error))", label: label)
        }
    }

    private func handle(_ event: WebSocketEvent, closeState: NIOLockedValueBox<CloseState>) {
        switch event {
        case .message(let message):
            switch message.kind {
            case .text: console.incoming(message.text ?? "", label: label)
            case .binary: console.incomingBinary(Array(message.data.readableBytesView), label: label)
            }
        case .ping(let data):
            if showPingPong {
                console.notice(
                    "Received ping (data: \(DisplayText.payload(Array(data.readableBytesView))))", label: label)
            }
        case .pong(let data):
            if showPingPong {
                console.notice(
                    "Received pong (data: \(DisplayText.payload(Array(data.readableBytesView))))", label: label)
            }
        case .closeReceived:
            closeState.withLockedValue { $0.received = true }
        case .closed(let status):
            let sent = closeState.withLockedValue { $0.sent }
            var code = status.code.rawValue
            var reason = status.reason
            // The peer echoes our code (RFC 6455 §5.5.1) but seldom our reason: show what we sent.
            if let sent, status.wasClean, code == sent.code || status.code == .noStatusReceived {
                (code, reason) = sent
            }
            console.status("Disconnected (code: \(code), reason: \(DisplayText.quoted(reason)))", label: label)
            if let error = status.error {
                console.error("the peer broke the protocol: \(error)", label: label)
            }
        }
    }

    private static func describeSendError(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("notOpen") || text.contains("not open") || text.contains("ioOnClosedChannel") {
            return "the connection is closing"
        }
        return text
    }
}
