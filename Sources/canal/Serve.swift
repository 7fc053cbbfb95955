import ArgumentParser
import CanalDemoSite
import CanalEngineIO
import CanalHTTP
import CanalRedis
import CanalSocketIO
import CanalSocketIORedis
import CanalWebSocket
import CanalWebSocketCompression
import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `canal serve`: the demo site of the tutorial's examples 5 and 6 (pages, static files
/// and a WebSocket echo on one port), or with `--echo-only` a bare WebSocket echo.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the Canal demo site, or only a WebSocket echo.",
        discussion: """
            By default one port answers the tutorial's browser examples: a welcome page at /, \
            the files of the public folder (--public, else the bundled demo pages), and a \
            WebSocket echo at /echo and /. Open the printed address in a browser.

            The same port serves Socket.IO at /socket.io/ (the tutorial's examples 7 to 9, \
            and our browser client at /socket.io/socket.io.js).

            With --echo-only the server is a bare WebSocket echo at every path, and plain \
            HTTP requests get 404; the benchmarks and the Autobahn conformance runs use it. \
            With --echo-only --async it echoes through the async API instead of an event-loop \
            callback, as bench/run.sh measures both. \
            With --bench it serves only the Socket.IO benchmark contract of bench/socketio \
            (echo and start-broadcast on the main namespace).

            Ctrl-C or SIGTERM closes every WebSocket with 1001, lets responses in flight \
            finish, and exits.
            """
    )

    @OptionGroup(title: "Server")
    var server: ServerOptions

    @OptionGroup(title: "WebSocket")
    var webSocket: WebSocketOptions

    @OptionGroup(title: "Site (not with --echo-only)")
    var site: SiteOptions

    mutating func validate() throws {
        if (server.tlsCertificate == nil) != (server.tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if webSocket.compressionThreshold != nil && webSocket.compression == nil {
            throw ValidationError("--compression-threshold needs --compression")
        }
        if server.echoOnly, let flag = site.givenFlag {
            throw ValidationError("\(flag) serves the site; it does not go with --echo-only")
        }
        if server.bench, server.echoOnly {
            throw ValidationError("--bench and --echo-only are two different servers; pick one")
        }
        if server.async, !server.echoOnly {
            throw ValidationError("--async goes with --echo-only")
        }
        if server.advertise != nil, server.redis == nil {
            throw ValidationError("--advertise is the address of a cluster member; it needs --redis")
        }
        if let threads = server.threads, threads < 1 {
            throw ValidationError("--threads must be at least 1")
        }
    }

    func run() async throws {
        MallocTuning.applyForServers()
        let level = server.logLevel ?? (server.echoOnly || server.bench ? .notice : .info)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let group: MultiThreadedEventLoopGroup =
            server.threads.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) } ?? .singleton
        let tls = server.tlsCertificate.map {
            WebSocketServerTLS(certificateChainFile: $0, privateKeyFile: server.tlsKey ?? "")
        }
        if server.echoOnly {
            try await runEcho(group: group, tls: tls)
        } else if server.bench {
            try await runBench(group: group, tls: tls)
        } else {
            try await runSite(group: group, tls: tls)
        }
    }

    /// The WebSocket settings both modes share.
    private func webSocketConfiguration() -> WebSocketServerConfiguration {
        var configuration = WebSocketServerConfiguration()
        if webSocket.conformance {
            configuration.webSocket = .conformance
            configuration.timeouts.keepaliveInterval = nil
        }
        if let size = webSocket.maxMessageSize {
            configuration.webSocket.maxMessageSize = size
            configuration.webSocket.maxFrameSize = size
        }
        if webSocket.noKeepalive {
            configuration.timeouts.keepaliveInterval = nil
        }
        if let preset = webSocket.compression {
            var deflate = preset.configuration
            if let threshold = webSocket.compressionThreshold { deflate.threshold = max(0, threshold) }
            configuration.compression = deflate
        }
        configuration.requestHeadTimeout = .seconds(server.requestHeadTimeout)
        configuration.shutdownTimeout = .seconds(server.shutdownTimeout)
        return configuration
    }

    /// The echo on the event loop (the fastest path), or with `--async` through the async
    /// API as the README shows it, so that the benchmarks measure both.
    private var echoHandler: WebSocketServerHandler {
        if server.async {
            return .async { inbound, outbound, _ in
                for try await message in inbound.messages { try await outbound.send(message) }
            }
        }
        return .eventLoop { _ in
            { event, socket in
                if case .message(let message) = event { socket.send(message) }
            }
        }
    }

    private func runEcho(group: MultiThreadedEventLoopGroup, tls: WebSocketServerTLS?) async throws {
        let echo = try await WebSocketServer.bind(
            host: server.host,
            port: server.port,
            configuration: webSocketConfiguration(),
            eventLoopGroup: group,
            logger: Logger(label: "canal.serve"),
            tls: tls,
            handler: echoHandler
        )
        let url = address(scheme: tls == nil ? "ws" : "wss", port: echo.localAddress.port)
        let signals = SignalWatcher { echo.shutdown() }
        defer { signals.cancel() }
        // The tests read this line to learn the port.
        print("Canal echo server listening on \(url)")
        print("Try it: canal -c \(url)\(tls == nil ? "" : " --no-check")   (Ctrl-C to stop)")
        fflush(nil)
        try await echo.run()
    }

    private func runBench(group: MultiThreadedEventLoopGroup, tls: WebSocketServerTLS?) async throws {
        let logger = Logger(label: "canal.serve")
        var options = SocketIOServerOptions()
        let membership = try await ClusterMembership.join(server, logger: logger)
        membership?.configure(&options, recovery: false)
        let io = SocketIOServer(options: options, eventLoopGroup: group, logger: logger)
        SocketIOBench.install(on: io)
        var router = HTTPRouter()
        io.install(on: &router)
        var configuration = HTTPServerConfiguration()
        configuration.webSocket = webSocketConfiguration().connection
        // Engine.IO's heartbeat watches the connection; WebSocket pings would double it.
        configuration.webSocket.timeouts.keepaliveInterval = nil
        let http = try await HTTPServer.bind(
            host: server.host, port: server.port, router: router, configuration: configuration, tls: tls,
            eventLoopGroup: group, logger: logger, accessLogger: nil)
        let url = address(scheme: tls == nil ? "http" : "https", port: http.localAddress.port)
        try await membership?.advertise(server, port: http.localAddress.port, secure: tls != nil)
        let signals = SignalWatcher {
            io.close()
            http.shutdown()
        }
        defer { signals.cancel() }
        print("Canal Socket.IO benchmark server listening on \(url) (Socket.IO at /socket.io/)")
        fflush(nil)
        try await http.run()
        await membership?.leave()
    }

    private func runSite(group: MultiThreadedEventLoopGroup, tls: WebSocketServerTLS?) async throws {
        let logger = Logger(label: "canal.serve")
        var router = try DemoSite.makeRouter(
            publicDirectory: site.publicDirectory,
            origins: site.originPolicy,
            logger: logger
        )
        var options = SocketIOServerOptions()
        let membership = try await ClusterMembership.join(server, logger: logger)
        membership?.configure(&options, recovery: true)
        let io = SocketIOServer(options: options, eventLoopGroup: group, logger: Logger(label: "canal.socketio"))
        let console = DemoConsole(colour: Terminal.isTerminal(1) && Terminal.wantsColor(noColorFlag: false))
        DemoSite.installSocketIOExamples(on: io, console: console)
        io.install(on: &router)
        var configuration = HTTPServerConfiguration()
        configuration.webSocket = webSocketConfiguration().connection
        configuration.requestHeadTimeout = .seconds(server.requestHeadTimeout)
        configuration.shutdownTimeout = .seconds(server.shutdownTimeout)
        configuration.maxRequestLineLength = site.maxRequestLine
        configuration.maxHeaderCount = site.maxHeaderCount
        configuration.maxHeaderSize = site.maxHeaderSize
        configuration.maxBodySize = site.maxBodySize
        configuration.cors = HTTPCORSConfiguration(allowedOrigins: .any)
        let http = try await HTTPServer.bind(
            host: server.host,
            port: server.port,
            router: router,
            configuration: configuration,
            tls: tls,
            eventLoopGroup: group,
            logger: logger,
            accessLogger: site.noAccessLog ? nil : Logger(label: "canal.http.access")
        )
        let secure = http.isSecure
        try await membership?.advertise(server, port: http.localAddress.port, secure: secure)
        let pages = address(scheme: secure ? "https" : "http", port: http.localAddress.port)
        let echo = address(scheme: secure ? "wss" : "ws", port: http.localAddress.port) + "echo"
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [.init(service: http)], logger: logger)
        )
        // Watch the signals before saying we listen: a signal sent as soon as the line
        // appears must shut down gracefully, not kill the process.
        let signals = SignalWatcher {
            io.close()
            Task { await services.triggerGracefulShutdown() }
        }
        defer { signals.cancel() }
        // The tests read this line to learn the port.
        print("Canal demo server listening on \(pages)")
        print("Open \(pages) in a browser; the WebSocket echo is at \(echo)")
        print("Try it: canal -c \(echo)\(secure ? " --no-check" : "")   (Ctrl-C to stop)")
        fflush(nil)
        try await services.run()
        await membership?.leave()
    }

    private func address(scheme: String, port: Int?) -> String {
        let host = server.host.contains(":") ? "[\(server.host)]" : server.host
        return "\(scheme)://\(host):\(port ?? server.port)/"
    }
}

struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(name: .shortAndLong, help: "Port to listen on (0 picks a free one).")
    var port = 8080

    @Flag(help: "Only the WebSocket echo, at every path; other HTTP requests get 404.")
    var echoOnly = false

    @Flag(help: "With --echo-only: echo through the async API (a for-await loop per connection) instead of an event-loop callback.")
    var async = false

    @Flag(help: "Only the Socket.IO benchmark contract (bench/socketio): echo and start-broadcast.")
    var bench = false

    @Option(help: "Join a Socket.IO cluster through this Redis (redis://[:password@]host[:port][/db], or rediss://); requests for other servers' sessions are relayed, so the load balancer needs no sticky sessions.")
    var redis: String?

    @Option(
        help: ArgumentHelp(
            "With --redis: the http://host:port other servers of the cluster relay this one's sessions to (default: the listening address; 127.0.0.1 when listening on 0.0.0.0).",
            valueName: "url"))
    var advertise: String?

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve https:// and wss://.")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(help: "Event-loop threads (default: one per core).")
    var threads: Int?

    @Option(help: "Seconds a client has to send a complete request head.")
    var requestHeadTimeout: Int64 = 10

    @Option(help: "Seconds a graceful shutdown waits before closing what is left.")
    var shutdownTimeout: Int64 = 10

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default: info; notice with --echo-only).")
    var logLevel: Logger.Level?
}

struct WebSocketOptions: ParsableArguments {
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
}

struct SiteOptions: ParsableArguments {
    @Option(name: .customLong("public"), help: "Folder of static files (default: the bundled demo pages).")
    var publicDirectory: String?

    @Option(help: "Comma-separated origins allowed to open the echo WebSocket (default: this server's own pages).")
    var allowOrigins: String?

    @Option(help: "Longest request line in bytes (414 beyond).")
    var maxRequestLine = HTTPServerConfiguration().maxRequestLineLength

    @Option(help: "Most header fields per request (431 beyond).")
    var maxHeaderCount = HTTPServerConfiguration().maxHeaderCount

    @Option(help: "Most header bytes per request (431 beyond).")
    var maxHeaderSize = HTTPServerConfiguration().maxHeaderSize

    @Option(help: "Largest request body in bytes (413 beyond).")
    var maxBodySize = HTTPServerConfiguration().maxBodySize

    @Flag(help: "Do not log a line per request.")
    var noAccessLog = false

    /// The first site-only option given, to name it in an error.
    var givenFlag: String? {
        let defaults = HTTPServerConfiguration()
        if publicDirectory != nil { return "--public" }
        if allowOrigins != nil { return "--allow-origins" }
        if maxRequestLine != defaults.maxRequestLineLength { return "--max-request-line" }
        if maxHeaderCount != defaults.maxHeaderCount { return "--max-header-count" }
        if maxHeaderSize != defaults.maxHeaderSize { return "--max-header-size" }
        if maxBodySize != defaults.maxBodySize { return "--max-body-size" }
        if noAccessLog { return "--no-access-log" }
        return nil
    }

    /// Pages of this server (and clients without `Origin`), or the listed origins.
    var originPolicy: WebSocketOriginPolicy {
        guard let allowOrigins else { return .sameHost(allowsMissingOrigin: true) }
        let list = allowOrigins.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return .only(Set(list), allowsMissingOrigin: true)
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
