import CanalSocketIO
import CanalSocketIOCore
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Socket.IO benchmark contract (`canal serve --bench`, bench/socketio): on the main
/// namespace, `echo` is emitted back with the same arguments, and
/// `start-broadcast {rate, size, seconds}` emits `tick` (CLOCK_MONOTONIC ns, then `size`
/// bytes of text) to every client `rate` times a second for `seconds`, then
/// `broadcast-done {sent, elapsed_ms, rate}`.
enum SocketIOBench {
    static func install(on io: SocketIOServer) {
        let running = NIOLockedValueBox(false)
        io.onConnection { socket in
            socket.on("echo") { event in try? socket.emit("echo", arguments: event.arguments) }
            socket.on("start-broadcast") { event in
                let spec = event[0]
                let rate = max(1, spec?["rate"]?.intValue ?? 100)
                let size = max(0, spec?["size"]?.intValue ?? 64)
                let seconds = max(0, spec?["seconds"]?.doubleValue ?? 5)
                guard running.withLockedValue({ was in defer { was = true }; return !was }) else { return }
                Broadcast(io: io, loop: socket.eventLoop, rate: rate, size: size, seconds: seconds) {
                    running.withLockedValue { $0 = false }
                }.start()
            }
        }
    }

    static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Ticks scheduled by absolute time, so that the rate holds even when a tick runs late.
    final class Broadcast: Sendable {
        let io: SocketIOServer
        let loop: EventLoop
        let rate: Int
        let total: Int
        let padding: SocketIOValue
        let done: @Sendable () -> Void
        let started = NIOLockedValueBox<UInt64>(0)
        let span = NIOLockedValueBox<(first: UInt64, last: UInt64)>((0, 0))

        init(io: SocketIOServer, loop: EventLoop, rate: Int, size: Int, seconds: Double, done: @escaping @Sendable () -> Void) {
            self.io = io
            self.loop = loop
            self.rate = rate
            self.total = Int(Double(rate) * seconds)
            self.padding = .string(String(repeating: "x", count: size))
            self.done = done
        }

        func start() {
            started.withLockedValue { $0 = SocketIOBench.monotonicNanoseconds() }
            loop.execute { self.tick(0) }
        }

        private func tick(_ index: Int) {
            let start = started.withLockedValue { $0 }
            guard index < total else {
                // As the python side reports it: the time from the first tick to the last,
                // and the rate that was kept over it (n ticks span n - 1 intervals).
                let (first, last) = span.withLockedValue { $0 }
                let elapsed = Double(last - first) / 1e6
                let kept = total > 1 && elapsed > 0 ? Double(total - 1) / (elapsed / 1000) : Double(total)
                let summary: SocketIOValue = [
                    "sent": .number(SocketIONumber(total)),
                    "elapsed_ms": .number(SocketIONumber((elapsed * 1000).rounded() / 1000)),
                    "rate": .number(SocketIONumber((kept * 1000).rounded() / 1000)),
                ]
                try? io.emit("broadcast-done", summary)
                done()
                return
            }
            let now = SocketIOBench.monotonicNanoseconds()
            span.withLockedValue { span in
                if index == 0 { span.first = now }
                span.last = now
            }
            try? io.emit("tick", arguments: [.number(SocketIONumber(Int(now))), padding])
            let next = start + UInt64(index + 1) * 1_000_000_000 / UInt64(rate)
            let wait = next > now ? Int64(next - now) : 0
            if wait == 0 {
                loop.execute { self.tick(index + 1) }
            } else {
                loop.scheduleTask(in: .nanoseconds(wait)) { self.tick(index + 1) }
            }
        }
    }
}
