import CanalHTTP
import CanalSSECore
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// The routes of canal-sse-testserver.
///
/// | route | what it does |
/// | --- | --- |
/// | `/raw?chunks=B64.B64...&delay=MS` | writes each base64 piece as it is, `delay` ms apart, then ends |
/// | `/retry-check?ms=N` | first request: `retry:` lines then one event, ends; the next says how long the client waited |
/// | `/count?n=N&interval=MS` | events `tick` with ids after `Last-Event-ID` up to N, then 204 to later requests |
/// | `/feed` | the broadcast feed (`--rate`), resumable with `Last-Event-ID` |
/// | `/bench/ws` | the same feed over WebSocket (binary, 8-byte timestamp first) |
/// | `/stats` | counts as JSON |
/// | `/echo-last-event-id` | one event whose data is the request's `Last-Event-ID`, then 204 once it is set |
enum TestRoutes {
    static func install(on router: inout HTTPRouter, state: TestServerState) {
        router.eventStream("/raw") { request, stream in
            let delay = Int(request.queryParameter("delay") ?? "") ?? 0
            let pieces = (request.queryParameter("chunks") ?? "").split(separator: ".")
            for piece in pieces {
                guard let bytes = Data(base64Encoded: String(piece)) else { continue }
                stream.send(EncodedServerSentEvent(preformatted: ByteBuffer(bytes: Array(bytes))))
                if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
            }
        }

        let retryClock = RetryClock()
        router.eventStream("/retry-check") { request, stream in
            if let waited = retryClock.waited(lastEventID: stream.lastEventID) {
                try stream.send(ServerSentEvent(event: "waited", data: String(waited)))
                await stream.waitUntilEnded()
                return
            }
            let milliseconds = request.queryParameter("ms") ?? "300"
            // Only the last, all-digit retry line counts.
            var raw = ByteBuffer(string: "retry: 2000x\nretry: +100\nretry: \(milliseconds)\nretry: 1.5\n")
            raw.writeString("id: retry-1\ndata: first\n\n")
            stream.send(EncodedServerSentEvent(preformatted: raw))
            retryClock.ended()
        }

        router.eventStream("/count", accept: { request in
            let total = Int(request.queryParameter("n") ?? "") ?? 10
            let last = Int(request.headers.first(name: "Last-Event-ID") ?? "") ?? 0
            FileHandle.standardError.write(Data("count request Last-Event-ID=\(request.headers.first(name: "Last-Event-ID") ?? "-")\n".utf8))
            return last >= total ? HTTPResponse(status: .noContent) : nil
        }) { request, stream in
            let total = Int(request.queryParameter("n") ?? "") ?? 10
            let interval = Int(request.queryParameter("interval") ?? "") ?? 100
            let start = (Int(stream.lastEventID ?? "") ?? 0) + 1
            for number in start...max(start, total) where number <= total {
                try stream.send(ServerSentEvent(event: "tick", id: String(number), data: "tick \(number)"))
                try await Task.sleep(for: .milliseconds(interval))
            }
        }

        router.eventStream("/feed") { _, stream in
            state.count("subscribers")
            if case .replayed(let count) = state.feed.add(stream) { state.count("replayed", by: count) }
            let end = await stream.waitUntilEnded()
            state.count("ended-\(end)")
        }
        router.webSocket("/bench/ws", handler: state.sockets.handler())

        router.get("/stats") { _ in
            var counts = state.snapshot
            counts["open"] = state.feed.subscriberCount
            counts["websockets"] = state.sockets.count
            let body = counts.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
            return .json("{\(body)}")
        }
    }
}

/// Remembers when the /retry-check stream ended, to tell the reconnecting client how long
/// it waited.
final class RetryClock: Sendable {
    private let endedAt = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

    func ended() {
        endedAt.withLockedValue { $0 = .now }
    }

    /// Milliseconds since the end, for a request that resumes after `retry-1`.
    func waited(lastEventID: String?) -> Int? {
        guard lastEventID == "retry-1", let ended = endedAt.withLockedValue({ $0 }) else { return nil }
        let elapsed = ContinuousClock.now - ended
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }
}
