import ArgumentParser
import CanalWebSocket
import CanalWebSocketCompression
import Dispatch
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an echo WebSocket server.",
        discussion: """
            Every text or binary message a client sends comes straight back. Plain HTTP \
            requests get 404. Ctrl-C closes every connection with 1001 and exits.
            """
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(name: .shortAndLong, help: "Port to listen on (0 picks a free one).")
    var port = 8080

    @Option(help: "Largest message accepted, in bytes; larger ones close the connection with 1009.")
    var maxMessageSize: Int?

    @Flag(help: "Do not send keepalive pings.")
    var noKeepalive = false

    @Flag(help: "Limits for the Autobahn conformance suite: 16 MiB messages, keepalive off.")
    var conformance = false

    @Option(
        help: ArgumentHelp(
            "Offer permessage-deflate (RFC 7692) with a preset: balanced, low-memory or maximum.",
            valueName: "preset"
        )
    )
    var compression: CompressionPreset?

    @Option(help: "With --compression: messages shorter than this many bytes go uncompressed.")
    var compressionThreshold: Int?

    @Option(help: "Event-loop threads (default: one per core).")
    var threads: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .notice

    func run() async throws {
        var configuration = WebSocketServerConfiguration()
        if conformance {
            configuration.webSocket = .conformance
            configuration.timeouts.keepaliveInterval = nil
        }
        if let maxMessageSize {
            configuration.webSocket.maxMessageSize = maxMessageSize
            configuration.webSocket.maxFrameSize = maxMessageSize
        }
        if noKeepalive {
            configuration.timeouts.keepaliveInterval = nil
        }
        if let compression {
            var deflate = compression.configuration
            if let compressionThreshold { deflate.threshold = max(0, compressionThreshold) }
            configuration.compression = deflate
        } else if compressionThreshold != nil {
            throw ValidationError("--compression-threshold needs --compression")
        }
        var logger = Logger(label: "canal.serve")
        logger.logLevel = logLevel
        let group: MultiThreadedEventLoopGroup =
            threads.map { MultiThreadedEventLoopGroup(numberOfThreads: max(1, $0)) } ?? .singleton
        let server = try await WebSocketServer.bind(
            host: host,
            port: port,
            configuration: configuration,
            eventLoopGroup: group,
            logger: logger,
            handler: .eventLoop { _ in
                { event, socket in
                    if case .message(let message) = event { socket.send(message) }
                }
            }
        )
        let address = server.localAddress
        let url = "ws://\(host.contains(":") ? "[\(host)]" : host):\(address.port ?? port)/"
        print("Canal echo server listening on \(url)")
        print("Try it: canal -c \(url)   (Ctrl-C to stop)")
        fflush(nil)
        let signals = SignalWatcher { server.shutdown() }
        try await server.run()
        signals.cancel()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// The permessage-deflate presets `canal serve --compression` offers.
enum CompressionPreset: String, ExpressibleByArgument, CaseIterable {
    case balanced
    case lowMemory = "low-memory"
    case maximum

    var configuration: PerMessageDeflateConfiguration {
        switch self {
        case .balanced: return .balanced
        case .lowMemory: return .lowMemory
        case .maximum: return .maximumCompression
        }
    }
}

/// Calls `action` once on SIGINT or SIGTERM.
final class SignalWatcher {
    private let sources: [any DispatchSourceSignal]

    init(_ action: @escaping @Sendable () -> Void) {
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: action)
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
