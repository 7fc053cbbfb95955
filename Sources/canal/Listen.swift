import ArgumentParser

struct Listen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Wait for WebSocket clients and talk to them (the same as canal -l <port>).",
        usage: "canal listen <port> [options]",
        discussion: """
            Any number of clients may connect; each gets a label ([client 1], [client 2], \
            ...). What you type goes to all of them; with --slash, /close closes them all \
            and the server goes on listening. Ctrl-C (or the end of input) closes every \
            client with 1000 and exits.
            """
    )

    @Argument(help: "Port to listen on (0 picks a free one).")
    var port: Int

    @OptionGroup
    var listenAddress: BindOptions

    @OptionGroup
    var protocols: SubprotocolOptions

    @OptionGroup(title: "Display options")
    var display: DisplayOptions

    func run() async throws {
        try await Self.start(
            port: port, host: listenAddress.bind, subprotocols: protocols.subprotocols, display: display)
    }

    /// Listen mode, for `canal -l` and `canal listen`. Exits the process when done.
    static func start(port: Int, host: String, subprotocols: [String], display: DisplayOptions) async throws {
        guard (0...65535).contains(port) else { throw ValidationError("port \(port) is not in 0-65535") }
        var settings = ListenSession.Settings(host: host, port: port)
        settings.slash = display.slash
        settings.showPingPong = display.showPingPong
        settings.subprotocols = subprotocols
        let console = display.makeConsole(executing: false)
        let status = await ListenSession(settings: settings, console: console).run()
        status.terminate(console: console)
    }
}
