// The server the Python suites of Tests/sse and the benchmark of bench/sse drive:
// event streams with Canal's HTTP server, and the same fan-out over WebSocket.
import ArgumentParser
import CanalHTTP
import CanalSSECore
import CanalWebSocket
import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

@main
struct SSETestServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canal-sse-testserver",
        abstract: "Event-stream routes for the SSE tests and benchmark (see Tests/sse/README.md).")

    @Option(help: "Port (0 picks a free one).") var port = 0
    @Option(help: "Event-loop threads (default: one per core).") var threads: Int?
    @Option(help: "Milliseconds sent as retry: at the start of each stream (0: none).") var retry = 0
    @Option(help: "Heartbeat comment interval in milliseconds (0: none).") var heartbeat = 15_000
    @Option(help: "Bytes a stream may have waiting for a slow client.") var maxBuffered = 256 * 1024
    @Option(help: "disconnect or drop: what to do with a client that reads too slowly.") var slowPolicy = "disconnect"
    @Option(help: "Events per second published to /feed and /bench/* (0: none).") var rate = 0
    @Option(help: "Bytes of data per published event (at least the timestamp).") var payload = 64
    @Option(help: "Events of /feed kept for Last-Event-ID.") var history = 1000
    @Option(help: "SO_SNDBUF of each connection in bytes (0: the kernel's automatic sizing).") var sendBuffer = 0
    @Option(name: .customLong("tls-cert"), help: "PEM certificate: serve https://.") var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: "PEM key for --tls-cert.") var tlsKey: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .notice
            return handler
        }
        let group = threads.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) } ?? .singleton
        let state = TestServerState(history: history)
        var router = HTTPRouter()
        TestRoutes.install(on: &router, state: state)
        var configuration = HTTPServerConfiguration()
        configuration.eventStream.retry = retry > 0 ? .milliseconds(Int64(retry)) : nil
        configuration.eventStream.heartbeatInterval = heartbeat > 0 ? .milliseconds(Int64(heartbeat)) : nil
        configuration.eventStream.maxBufferedBytes = maxBuffered
        configuration.eventStream.slowClientPolicy = slowPolicy == "drop" ? .dropEvents : .disconnect
        configuration.webSocket.timeouts.keepaliveInterval = nil
        configuration.socketSendBufferSize = sendBuffer > 0 ? sendBuffer : nil
        let tls = tlsCertificate.map { WebSocketServerTLS(certificateChainFile: $0, privateKeyFile: tlsKey ?? "") }
        let server = try await HTTPServer.bind(
            host: "127.0.0.1", port: port, router: router, configuration: configuration, tls: tls,
            eventLoopGroup: group, accessLogger: nil)
        if rate > 0 { state.startPublishing(rate: rate, payload: payload, on: group.next()) }
        let signals = [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { server.shutdown() }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        print("canal-sse-testserver listening on \(tls == nil ? "http" : "https")://127.0.0.1:\(server.localAddress.port!)/")
        fflush(nil)
        try await server.run()
    }
}

/// What the routes share: the feed, the WebSocket group, and counts for /stats.
final class TestServerState: Sendable {
    let feed: EventStreamBroadcaster
    let sockets = WebSocketBroadcastGroup()
    private let counts = NIOLockedValueBox<[String: Int]>([:])
    private let timer = NIOLockedValueBox<RepeatedTask?>(nil)

    init(history: Int) {
        feed = EventStreamBroadcaster(history: history)
    }

    func count(_ name: String, by amount: Int = 1) {
        counts.withLockedValue { $0[name, default: 0] += amount }
    }

    var snapshot: [String: Int] { counts.withLockedValue { $0 } }

    /// Publishes `rate` events per second, in ticks of 10 ms, to the SSE feed and the
    /// WebSocket group. Each event's data starts with CLOCK_MONOTONIC in nanoseconds.
    func startPublishing(rate: Int, payload: Int, on loop: EventLoop) {
        let sequence = NIOLockedValueBox<(sent: Int, started: NIODeadline)>((0, .now()))
        let task = loop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(10)) { [self] _ in
            let now = NIODeadline.now()
            let due = sequence.withLockedValue { state -> Range<Int> in
                let elapsed = (now - state.started).nanoseconds
                let target = Int(Int64(rate) * elapsed / 1_000_000_000)
                defer { state.sent = target }
                return state.sent..<target
            }
            for index in due { publish(index + 1, payload: payload, at: now) }
        }
        timer.withLockedValue { $0 = task }
    }

    private func publish(_ number: Int, payload: Int, at time: NIODeadline) {
        let stamp = time.uptimeNanoseconds
        var text = String(stamp)
        if text.utf8.count + 1 < payload { text += " " + String(repeating: "x", count: payload - text.utf8.count - 1) }
        if let event = try? EncodedServerSentEvent(ServerSentEvent(id: String(number), data: text)) {
            count("published")
            count("deliveries", by: feed.broadcast(event))
        }
        if sockets.count > 0 {
            var bytes = ByteBuffer()
            bytes.writeInteger(stamp, endianness: .little, as: UInt64.self)
            let padding = max(0, payload - 8)
            bytes.writeRepeatingByte(UInt8(ascii: "x"), count: padding)
            sockets.broadcast(WebSocketPreEncodedMessage(.binary(bytes)))
        }
    }
}
