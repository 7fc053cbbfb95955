// canal-sio-testclient bench: the client side of bench/sioclient (see its README).
//
//   canal-sio-testclient bench echo URL --events N --window W --size S
//   canal-sio-testclient bench ticks URL --rate R --seconds T --size S
//
// Prints one JSON line: {"mode","received","seconds","events_per_second", ...}.
import CanalSocketIOClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore

enum Bench {
    static func run(_ arguments: [String]) async -> Int32 {
        guard arguments.count >= 2 else {
            FileHandle.standardError.write(Data("usage: canal-sio-testclient bench echo|ticks URL [options]\n".utf8))
            return 2
        }
        let mode = arguments[0]
        let url = arguments[1]
        var options: [String: Double] = [:]
        var index = 2
        while index + 1 < arguments.count {
            options[String(arguments[index].drop { $0 == "-" })] = Double(arguments[index + 1])
            index += 2
        }
        var configuration = SocketIOClientConfiguration()
        configuration.transports = [.websocket]
        configuration.reconnection = .disabled
        do {
            let result = try await SocketIOClient.connect(to: url, configuration: configuration) { socket, _ in
                switch mode {
                case "echo":
                    return try await echo(
                        socket, events: Int(options["events"] ?? 100_000), window: Int(options["window"] ?? 64),
                        size: Int(options["size"] ?? 64))
                default:
                    return try await ticks(
                        socket, rate: Int(options["rate"] ?? 2000), seconds: options["seconds"] ?? 5,
                        size: Int(options["size"] ?? 64))
                }
            }
            print(result)
            return 0
        } catch {
            FileHandle.standardError.write(Data("bench failed: \(error)\n".utf8))
            return 1
        }
    }

    /// `events` echoes with at most `window` in flight; the time from the first emit to
    /// the last echo.
    static func echo(_ socket: SocketIOClientSocket, events: Int, window: Int, size: Int) async throws -> String {
        let payload = SocketIOValue.string(String(repeating: "x", count: size))
        let state = NIOLockedValueBox((sent: 0, received: 0))
        let (done, finish) = AsyncStream.makeStream(of: Void.self)
        @Sendable func sendOne() {
            let next = state.withLockedValue { state -> Int? in
                guard state.sent < events else { return nil }
                state.sent += 1
                return state.sent
            }
            guard let next else { return }
            try? socket.emit("echo", arguments: [.number(SocketIONumber(next)), payload])
        }
        socket.on("echo") { _ in
            let count = state.withLockedValue { state in
                state.received += 1
                return state.received
            }
            if count == events { finish.finish() } else { sendOne() }
        }
        let start = ContinuousClock.now
        for _ in 0..<window { sendOne() }
        for await _ in done {}
        let seconds = (ContinuousClock.now - start).seconds
        let received = state.withLockedValue { $0.received }
        return #"{"mode":"echo","received":\#(received),"seconds":\#(seconds),"events_per_second":\#(Double(received) / seconds)}"#
    }

    /// Asks the server for `rate` ticks a second for `seconds`; counts them until
    /// `broadcast-done`.
    static func ticks(_ socket: SocketIOClientSocket, rate: Int, seconds: Double, size: Int) async throws -> String {
        let state = NIOLockedValueBox((received: 0, first: ContinuousClock.Instant?.none, last: ContinuousClock.now))
        let (done, finish) = AsyncStream.makeStream(of: SocketIOValue.self)
        socket.on("tick") { _ in
            state.withLockedValue { state in
                state.received += 1
                let now = ContinuousClock.now
                if state.first == nil { state.first = now }
                state.last = now
            }
        }
        socket.on("broadcast-done") { event in
            finish.yield(event[0] ?? .null)
            finish.finish()
        }
        try socket.emit(
            "start-broadcast",
            ["rate": .number(SocketIONumber(rate)), "size": .number(SocketIONumber(size)),
             "seconds": .number(SocketIONumber(seconds))] as SocketIOValue)
        var summary = SocketIOValue.null
        for await value in done { summary = value }
        // The last ticks may still be in flight behind broadcast-done's own path: a moment more.
        try await Task.sleep(for: .milliseconds(200))
        let (received, first, last) = state.withLockedValue { ($0.received, $0.first, $0.last) }
        let span = first.map { (last - $0).seconds } ?? 0
        let sent = summary["sent"]?.intValue ?? 0
        return #"{"mode":"ticks","received":\#(received),"sent":\#(sent),"seconds":\#(span),"events_per_second":\#(span > 0 ? Double(received) / span : 0)}"#
    }
}

extension Duration {
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
