import ArgumentParser

/// wscat's two modes, on the root command: `-c URL` or `-l PORT`.
struct ModeOptions: ParsableArguments {
    @Option(
        name: [.customShort("c"), .customLong("connect")],
        help: ArgumentHelp("Connect to a WebSocket server; ws:// is assumed without a scheme.", valueName: "url")
    )
    var connect: String?

    @Option(
        name: [.customShort("l"), .customLong("listen")],
        help: ArgumentHelp(
            "Listen on this port (0 picks a free one) and talk to every client that connects.", valueName: "port")
    )
    var listen: Int?
}

/// `--bind`, for `-l` and `listen`.
struct BindOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Address to listen on with -l; 0.0.0.0 for every interface.", valueName: "address"))
    var bind = BindOptions.defaultAddress

    static let defaultAddress = "127.0.0.1"
}
