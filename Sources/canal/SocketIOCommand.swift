import ArgumentParser
import CanalSocketIOClient

/// `canal io`: Socket.IO from the terminal, as `canal -c` and `canal -l` are for WebSocket.
struct SocketIOCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "io",
        abstract: "Talk to a Socket.IO server, or be one for Socket.IO clients.",
        usage: """
            canal io <url> [options]            connect to a Socket.IO server
            canal io --listen <port> [options]  wait for Socket.IO clients and talk to them
            """,
        discussion: """
            Every event that arrives is printed with its name and arguments (JSON; bytes as a \
            hex dump). A typed line is emitted as a "message" event, as socket.send does; \
            lines starting with / are commands (/emit, /call, /ack, /binary, /join, \
            /disconnect, /help). Ctrl-C (or Ctrl-D on an empty line) disconnects and exits.
            """
    )

    @Argument(help: "The server's http://, https://, ws:// or wss:// URL; its path names the namespace.")
    var url: String?

    @Option(
        name: [.customShort("l"), .customLong("listen")],
        help: ArgumentHelp(
            "Be a Socket.IO server on this port (0 picks a free one) instead of connecting.", valueName: "port"))
    var listen: Int?

    @OptionGroup
    var listenAddress: BindOptions

    @OptionGroup(title: "Client options")
    var options: SocketIOOptions

    @OptionGroup(title: "TLS options")
    var tls: ClientTLSOptions

    @OptionGroup(title: "Display options")
    var output: OutputOptions

    func run() async throws {
        switch (url, listen) {
        case (nil, nil):
            throw ValidationError("give the server's URL, or --listen <port>")
        case (.some, .some):
            throw ValidationError("give either a URL or --listen, not both")
        case (nil, .some(let port)):
            let misplaced = options.clientOnlyOptionsGiven + tls.given
            if !misplaced.isEmpty {
                throw ValidationError(
                    "\(misplaced.joined(separator: ", ")) work\(misplaced.count == 1 ? "s" : "") only when connecting")
            }
            guard (0...65535).contains(port) else { throw ValidationError("port \(port) is not in 0-65535") }
            let console = output.makeConsole(executing: false)
            let session = SocketIOListenSession(host: listenAddress.bind, port: port, console: console)
            await session.run().terminate(console: console)
        case (.some(let url), nil):
            if listenAddress.bind != BindOptions.defaultAddress {
                throw ValidationError("--bind works with --listen only")
            }
            try await connect(to: url)
        }
    }

    private func connect(to text: String) async throws {
        let parsed: SocketIOClientURL
        do {
            parsed = try SocketIOClientURL(parsing: text)
        } catch {
            throw ValidationError(error.message)
        }
        var settings = SocketIOSession.Settings(
            url: text,
            namespace: options.namespace ?? parsed.namespace,
            auth: try options.authValue(),
            configuration: try options.makeConfiguration(tls: tls))
        settings.execute = options.execute
        settings.wait = options.wait ?? 2
        settings.waitAfterInput = options.wait ?? 0
        let console = output.makeConsole(executing: !options.execute.isEmpty)
        let status = await SocketIOSession(settings: settings, console: console).run()
        status.terminate(console: console)
    }
}
