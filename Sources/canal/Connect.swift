import ArgumentParser
import CanalWebSocket

struct Connect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Connect to a WebSocket server (the same as canal -c <url>).",
        discussion: """
            Type a line to send it; Ctrl-C (or Ctrl-D on an empty line) closes with 1000 \
            and exits. With -x the messages are sent in order, then the connection closes \
            after -w seconds (default 2). When input is piped, -w also sets how long to \
            wait for replies after its end (default 0). With --reconnect a lost connection is opened \
            again after 0.5 s, 1 s, 2 s ... up to 30 s.
            """
    )

    @Argument(help: "The server's ws:// or wss:// URL; ws:// is assumed without a scheme.")
    var url: String

    @OptionGroup
    var connectOptions: ConnectOptions

    @OptionGroup
    var protocols: SubprotocolOptions

    @OptionGroup(title: "Display options")
    var display: DisplayOptions

    func run() async throws {
        try await Self.start(url: url, options: connectOptions, protocols: protocols, display: display)
    }

    /// Connect mode, for `canal -c` and `canal connect`. Exits the process when done.
    static func start(
        url: String,
        options: ConnectOptions,
        protocols: SubprotocolOptions,
        display: DisplayOptions
    ) async throws {
        do {
            _ = try WebSocketURL(parsing: url)
        } catch {
            throw ValidationError("invalid URL \(DisplayText.quoted(url)): \(error)")
        }
        var settings = ClientSession.Settings(
            url: url, configuration: try options.makeConfiguration(subprotocols: protocols.subprotocols))
        settings.followRedirects = options.followRedirects
        settings.maxRedirects = options.maxRedirects
        settings.execute = options.execute
        settings.wait = options.wait ?? 2
        settings.waitAfterInput = options.wait ?? 0
        settings.slash = display.slash
        settings.showPingPong = display.showPingPong
        settings.reconnect = options.reconnect || options.maxReconnects != nil
        settings.maxReconnects = options.maxReconnects
        let console = display.makeConsole(executing: !options.execute.isEmpty)
        let status = await ClientSession(settings: settings, console: console).run()
        status.terminate(console: console)
    }
}
