import ArgumentParser

@main
struct Canal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canal",
        abstract: "Real-time web toolkit: WebSocket servers and clients from the terminal.",
        version: "0.1.0",
        subcommands: [Serve.self]
    )
}
