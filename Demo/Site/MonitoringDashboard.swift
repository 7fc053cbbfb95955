import CanalHTTP
import CanalSSECore
import CanalWebSocket
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// The live comparison of the tutorial's four ways for a server to reach a page: AJAX
/// polling, long polling, server-sent events and WebSocket, all fed by one simulated
/// monitoring source (`MonitoringSimulation`). The page is `/dashboard.html`.
///
/// | path | technique |
/// | --- | --- |
/// | `GET /dashboard/poll?after=N` | polling: the latest reading at once |
/// | `GET /dashboard/long-poll?after=N` | long polling: held until a reading newer than N (204 after `longPollTimeout`) |
/// | `GET /dashboard/events` | server-sent events: event `reading`, id = sequence |
/// | `ws://…/dashboard/ws` | WebSocket: each reading as a text message |
/// | `GET /dashboard/stats` | what the server counted per technique (JSON) |
///
/// Each technique's route has an `HTTPTrafficMeter`, so the counts are of bytes on the
/// wire, headers and framing included, and `updates` counts the readings delivered.
public final class MonitoringDashboard: Sendable {
    public enum Technique: String, Sendable, CaseIterable {
        case poll, longPoll = "long-poll", events, webSocket = "ws"
    }

    public let interval: Duration
    public let longPollTimeout: Duration
    private let meters: [Technique: HTTPTrafficMeter]
    private let updates = NIOLockedValueBox<[Technique: Int]>([:])
    private let readings = LongPollSource<MonitoringReading>()
    private let feed = EventStreamBroadcaster(history: 120)
    private let sockets = WebSocketBroadcastGroup()
    private let started = NIOLockedValueBox(false)

    /// - Parameters:
    ///   - interval: time between readings.
    ///   - longPollTimeout: how long a long poll is held without news before 204.
    public init(interval: Duration = .seconds(1), longPollTimeout: Duration = .seconds(25)) {
        self.interval = interval
        self.longPollTimeout = longPollTimeout
        var meters: [Technique: HTTPTrafficMeter] = [:]
        for technique in Technique.allCases { meters[technique] = HTTPTrafficMeter() }
        self.meters = meters
    }

    /// Adds the dashboard's routes to `router`.
    public func install(on router: inout HTTPRouter) {
        router.get("/dashboard/poll") { [self] request in
            startIfNeeded()
            let after = request.queryParameter("after").flatMap(UInt64.init) ?? 0
            guard let latest = readings.latest else { return HTTPResponse(status: .noContent) }
            if latest.version > after { count(.poll) }
            return .json(latest.value.json)
        }
        router.get("/dashboard/long-poll") { [self] request in
            startIfNeeded()
            let after = request.queryParameter("after").flatMap(UInt64.init) ?? 0
            switch await readings.next(after: after, timeout: longPollTimeout) {
            case .value(_, let reading):
                count(.longPoll)
                return .json(reading.json)
            case .timedOut:
                return HTTPResponse(status: .noContent)
            case .tooManyWaiters:
                return .text("Too many waiting requests; try again\n", status: .serviceUnavailable)
            }
        }
        router.eventStream("/dashboard/events") { [self] _, stream in
            startIfNeeded()
            if case .replayed(let count) = feed.add(stream) { self.count(.events, by: count) }
            await stream.waitUntilEnded()
        }
        router.webSocket("/dashboard/ws", origins: .sameHost(allowsMissingOrigin: true), handler: sockets.handler())
        router.get("/dashboard/stats") { [self] _ in .json(statsJSON()) }
        router.meter("/dashboard/poll", with: meters[.poll]!)
        router.meter("/dashboard/long-poll", with: meters[.longPoll]!)
        router.meter("/dashboard/events", with: meters[.events]!)
        router.meter("/dashboard/ws", with: meters[.webSocket]!)
    }

    /// `{"seq":12,"poll":{"requests":3,"bytesReceived":...,"bytesSent":...,"updates":2},...}`
    public func statsJSON() -> String {
        let delivered = updates.withLockedValue { $0 }
        var parts = ["\"seq\":\(readings.latest?.version ?? 0)", "\"intervalMs\":\(interval.wholeMilliseconds)"]
        for technique in Technique.allCases {
            let counts = meters[technique]!.snapshot
            parts.append(
                "\"\(technique.rawValue)\":{\"requests\":\(counts.requests),\"bytesReceived\":\(counts.bytesReceived),"
                    + "\"bytesSent\":\(counts.bytesSent),\"updates\":\(delivered[technique] ?? 0)}")
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    private func count(_ technique: Technique, by amount: Int = 1) {
        updates.withLockedValue { $0[technique, default: 0] += amount }
    }

    /// The source starts with the first visitor, so that building a router costs nothing.
    func startIfNeeded() {
        let first = started.withLockedValue { started -> Bool in
            defer { started = true }
            return !started
        }
        guard first else { return }
        Task { [self] in
            var simulation = MonitoringSimulation()
            var random = SystemRandomNumberGenerator()
            while true {
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                publish(simulation.next(now: now, using: &random))
                try? await Task.sleep(for: interval)
            }
        }
    }

    private func publish(_ reading: MonitoringReading) {
        readings.publish(reading)
        let event = try? EncodedServerSentEvent(
            ServerSentEvent(event: "reading", id: String(reading.sequence), data: reading.json))
        if let event { count(.events, by: feed.broadcast(event)) }
        count(.webSocket, by: sockets.broadcast(reading.json))
    }
}

extension Duration {
    fileprivate var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
