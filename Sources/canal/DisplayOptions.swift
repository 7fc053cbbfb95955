import ArgumentParser

/// Options shared by connect and listen mode: slash commands and how output looks.
struct DisplayOptions: ParsableArguments {
    @Flag(help: "Treat lines starting with / as commands: /ping, /pong, /close, /binary, /help.")
    var slash = false

    @Flag(
        name: [.customShort("P"), .customLong("show-ping-pong")], help: "Print a notice when a ping or pong arrives.")
    var showPingPong = false

    @OptionGroup
    var output: OutputOptions

    /// The console for this run. Decoration needs a terminal on standard output and no `-x`.
    func makeConsole(executing: Bool) -> Console {
        output.makeConsole(executing: executing)
    }
}

/// How output looks, in every mode: colour, times, state lines.
struct OutputOptions: ParsableArguments {
    @Flag(name: .customLong("no-color"), help: "Run without colour (also when NO_COLOR is set).")
    var noColor = false

    @Flag(help: "Start each printed line with the time it was printed.")
    var timestamps = false

    @Flag(
        name: [.customShort("q"), .long],
        help: "Do not print state lines (Connected, Disconnected) on standard error when output is not a terminal."
    )
    var quiet = false

    /// The console for this run. Decoration needs a terminal on standard output and no `-x`.
    func makeConsole(executing: Bool) -> Console {
        let decorated = Terminal.stdoutIsTerminal && !executing
        return Console(
            style: Console.Style(
                decorated: decorated,
                color: decorated && Terminal.wantsColor(noColorFlag: noColor),
                timestamps: timestamps,
                quiet: quiet
            )
        )
    }
}
