import CanalHTTP
import CanalWebSocket
import Foundation
import Logging
import NIOHTTP1

/// The tutorial's examples 5 and 6 as a Canal site: one server answers a welcome route,
/// serves the `public/` folder, and echoes WebSocket messages on the same port.
///
/// `canal serve` runs it; any executable can:
///
/// ```swift
/// let router = try DemoSite.makeRouter(logger: logger)
/// let server = try await HTTPServer.bind(host: "127.0.0.1", port: 8080, router: router)
/// ```
public enum DemoSite {
    /// The `public/` folder bundled with this module, or nil when the resource bundle
    /// was not installed beside the executable (a binary copied on its own).
    public static var bundledPublicDirectory: String? {
        // `Bundle.module` stops the process when it finds no bundle, so look first.
        let besideExecutable = Bundle.main.bundleURL
        let candidates = ["Canal_CanalDemoSite.resources", "Canal_CanalDemoSite.bundle"].map {
            besideExecutable.appendingPathComponent($0).path
        }
        guard candidates.contains(where: { FileManager.default.fileExists(atPath: $0) }) else { return nil }
        guard let url = Bundle.module.url(forResource: "public", withExtension: nil) else { return nil }
        return url.path
    }

    /// The WebSocket paths: `/echo` for the demo pages, and `/` as in the tutorial, whose
    /// pages connect to `ws://localhost:8080` without a path.
    public static let echoPaths = ["/echo", "/"]

    /// The demo's routes.
    ///
    /// - Parameters:
    ///   - publicDirectory: the folder to serve; nil serves the bundled one.
    ///   - origins: which pages may open the echo WebSocket. The default accepts the
    ///     server's own pages and clients that send no `Origin` (command-line tools).
    ///   - logger: each echoed message is logged at `info`, as the tutorial's server prints them.
    ///   - dashboard: the live comparison of polling, long polling, server-sent events and
    ///     WebSocket (`/dashboard.html`); nil leaves its routes out.
    public static func makeRouter(
        publicDirectory: String? = nil,
        origins: WebSocketOriginPolicy = .sameHost(allowsMissingOrigin: true),
        logger: Logger = Logger(label: "canal.demo"),
        dashboard: MonitoringDashboard? = MonitoringDashboard()
    ) throws -> HTTPRouter {
        guard let directory = publicDirectory ?? bundledPublicDirectory else {
            throw StaticFilesError(
                description: "the demo pages are not installed beside this executable; pass a folder with --public")
        }
        var router = HTTPRouter()
        router.get("/") { _ in .html(welcomePage) }
        router.get("/api/hello") { request in
            let name = request.queryParameter("name") ?? "world"
            return .json("{\"greeting\":\(jsonString("Hello, \(name)!"))}")
        }
        router.post("/api/echo") { request in
            var headers = HTTPHeaders()
            headers.add(
                name: "Content-Type", value: request.headers.first(name: "Content-Type") ?? "application/octet-stream")
            return HTTPResponse(headers: headers, body: request.body)
        }
        for path in echoPaths {
            router.webSocket(path, origins: origins, handler: echoHandler(logger: logger))
        }
        dashboard?.install(on: &router)
        try router.serveFiles(from: directory)
        return router
    }

    /// Sends every message back, on the connection's event loop.
    public static func echoHandler(logger: Logger) -> WebSocketServerHandler {
        .eventLoop { request in
            let peer =
                request.remoteAddress.flatMap { address in address.port.map { "\(address.ipAddress ?? "?"):\($0)" } }
                ?? "-"
            return { event, socket in
                guard case .message(let message) = event else { return }
                if let text = message.text {
                    logger.info("\(peer) said: \(text.prefix(200))")
                } else {
                    logger.info("\(peer) sent \(message.data.readableBytes) binary bytes")
                }
                socket.send(message)
            }
        }
    }

    /// The welcome route, as in example 5 (`app.get('/')`): written by a handler, not a file.
    static let welcomePage = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <title>Canal demo</title>
          <link rel="stylesheet" href="/css/site.css">
        </head>
        <body>
          <header>
            <img src="/img/canal.svg" alt="">
            <h1>Welcome to the Canal demo</h1>
          </header>
          <main>
            <p>One Canal server on one port answers this page from a route, serves the
              files of its <code>public/</code> folder, and accepts WebSocket connections.</p>
            <ul class="examples">
              <li><a id="test-page" href="/test.html">A static test page</a>:
                HTML with its own style sheet, script and images.</li>
              <li><a id="echo-page" href="/echo.html">WebSocket echo in the browser</a>:
                the page greets the server, sends a numbered message per click, and shows
                every echo.</li>
              <li><a id="socketio-echo-page" href="/socketio-echo.html">Socket.IO echo</a>:
                the same echo on Socket.IO, with the client the server hands out at
                <code>/socket.io/socket.io.js</code>.</li>
              <li><a id="socketio-events-page" href="/socketio-events.html">Messages and events</a>:
                the echo plus a <code>tic</code> event a second, which the server prints and
                does not answer.</li>
              <li><a id="socketio-chat-page" href="/socketio-chat.html">Mini-chat</a>:
                open it in several windows; what one sends, all of them see.</li>
              <li><a id="dashboard-page" href="/dashboard.html">Live monitoring dashboard</a>:
                one simulated machine reported four ways at once (polling, long polling,
                server-sent events and WebSocket), with the delay, the requests and the
                bytes each way costs.</li>
            </ul>
            <p>From a terminal: <code>canal -c ws://HOST:PORT/echo</code> talks to the same echo.</p>
          </main>
        </body>
        </html>
        """

    private static func jsonString(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case _ where scalar.value < 0x20: output += String(format: "\\u%04x", scalar.value)
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }
}
