import ArgumentParser
import CanalDemoSite
import CanalHTTP
import CanalWebSocket
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

/// The tutorial's examples 5 and 6 on one Canal server: a welcome route, the `public/`
/// folder and a WebSocket echo, over http:// and ws://, or https:// and wss://.
@main
struct WebDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canal-web-demo",
        abstract: "Serve the Canal demo site: pages, static files and a WebSocket echo on one port."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one.")
    var port = 8080

    @Option(name: .customLong("public"), help: "Folder of static files (default: the bundled demo site).")
    var publicDirectory: String?

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve https:// and wss://.")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(help: "Event-loop threads (default: one per core).")
    var threads: Int?

    @Option(help: "Seconds a client has to send a complete request head.")
    var requestHeadTimeout: Double = 10

    @Option(help: "Seconds graceful shutdown waits before closing what is left.")
    var shutdownTimeout: Double = 10

    @Option(help: "Longest request line in bytes (414 beyond).")
    var maxRequestLine = HTTPServerConfiguration().maxRequestLineLength

    @Option(help: "Most header fields per request (431 beyond).")
    var maxHeaderCount = HTTPServerConfiguration().maxHeaderCount

    @Option(help: "Most header bytes per request (431 beyond).")
    var maxHeaderSize = HTTPServerConfiguration().maxHeaderSize

    @Option(help: "Largest request body in bytes (413 beyond).")
    var maxBodySize = HTTPServerConfiguration().maxBodySize

    @Option(help: "Comma-separated origins allowed to open the echo WebSocket; default: this server's own pages.")
    var allowOrigins: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Flag(help: "Do not log a line per request.")
    var noAccessLog = false

    mutating func validate() throws {
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown log level \(logLevel)") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "canal.demo")
        var origins = WebSocketOriginPolicy.sameHost(allowsMissingOrigin: true)
        if let allowOrigins {
            let list = allowOrigins.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            origins = .only(Set(list), allowsMissingOrigin: true)
        }
        let router = try DemoSite.makeRouter(publicDirectory: publicDirectory, origins: origins, logger: logger)
        var configuration = HTTPServerConfiguration()
        configuration.requestHeadTimeout = .nanoseconds(Int64(requestHeadTimeout * 1e9))
        configuration.shutdownTimeout = .nanoseconds(Int64(shutdownTimeout * 1e9))
        configuration.maxRequestLineLength = maxRequestLine
        configuration.maxHeaderCount = maxHeaderCount
        configuration.maxHeaderSize = maxHeaderSize
        configuration.maxBodySize = maxBodySize
        configuration.cors = HTTPCORSConfiguration(allowedOrigins: .any)
        let tls = tlsCertificate.map { WebSocketServerTLS(certificateChainFile: $0, privateKeyFile: tlsKey ?? "") }
        let group: any EventLoopGroup =
            threads.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) } ?? MultiThreadedEventLoopGroup.singleton
        let server = try await HTTPServer.bind(
            host: host,
            port: port,
            router: router,
            configuration: configuration,
            tls: tls,
            eventLoopGroup: group,
            logger: logger,
            accessLogger: noAccessLog ? nil : Logger(label: "canal.http.access")
        )
        let scheme = server.isSecure ? "https" : "http"
        let port = server.localAddress.port ?? self.port
        // Tests read this line to learn the port.
        print("listening on \(scheme)://\(host):\(port)/")
        fflush(nil)  // all streams; `stdout` itself is not concurrency-safe
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await services.run()
        print("stopped")
        fflush(nil)  // all streams; `stdout` itself is not concurrency-safe
    }
}
