import ArgumentParser
import Foundation

@main
struct Canal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canal",
        abstract: "Real-time web toolkit: WebSocket servers and clients from the terminal.",
        usage: """
            canal -c <url> [options]     connect to a WebSocket server (as wscat -c)
            canal -l <port> [options]    wait for clients and talk to them (as wscat -l)
            canal sse <url> [options]    print a server-sent event stream
            canal io <url> [options]     talk to a Socket.IO server (canal io --help)
            canal <subcommand> [options]
            """,
        discussion: """
            Without a subcommand canal works like wscat, with the same options: -c to \
            connect, -l to listen. It adds binary messages, pipes, line editing with \
            history, several clients in listen mode, --reconnect and --timestamps.
            """,
        version: "0.1.0",
        subcommands: [Serve.self, Connect.self, Listen.self, SocketIOCommand.self, ServerSentEvents.self, Internals.self]
    )

    @OptionGroup(title: "Mode")
    var mode: ModeOptions

    @OptionGroup(title: "Mode")
    var listenAddress: BindOptions

    @OptionGroup(title: "Connect options")
    var connectOptions: ConnectOptions

    @OptionGroup(title: "Connect options")
    var protocols: SubprotocolOptions

    @OptionGroup(title: "Display options")
    var display: DisplayOptions

    /// Checked in `run()`: in `validate()` it would hide ArgumentParser's own errors
    /// (an unknown option would be reported as a missing mode).
    private func checkMode() throws {
        switch (mode.connect, mode.listen) {
        case (nil, nil):
            throw ValidationError("give --connect <url> or --listen <port>")
        case (.some, .some):
            throw ValidationError("use either --listen or --connect, not both")
        case (nil, .some):
            let misplaced = connectOptions.connectOnlyOptionsGiven
            if !misplaced.isEmpty {
                throw ValidationError(
                    "\(misplaced.joined(separator: ", ")) work\(misplaced.count == 1 ? "s" : "") with --connect only")
            }
        case (.some, nil):
            if listenAddress.bind != BindOptions.defaultAddress {
                throw ValidationError("--bind works with --listen only")
            }
        }
    }

    func run() async throws {
        try checkMode()
        if let connect = mode.connect {
            try await Connect.start(url: connect, options: connectOptions, protocols: protocols, display: display)
        } else if let listen = mode.listen {
            try await Listen.start(
                port: listen,
                host: listenAddress.bind,
                subprotocols: protocols.subprotocols,
                display: display
            )
        }
    }

    /// Subcommands are parsed on their own: ArgumentParser would otherwise give an option
    /// that the root command also has (`--host`, `-p`) to the root.
    private static let subcommandTypes: [String: any ParsableCommand.Type] = [
        "serve": Serve.self, "connect": Connect.self, "listen": Listen.self, "io": SocketIOCommand.self,
        "sse": ServerSentEvents.self,
        "internals": Internals.self,
    ]

    /// Parses the command line with wscat's spellings accepted, and exits with the codes
    /// `ExitStatus` documents (usage errors exit 2, not ArgumentParser's 64).
    static func main() async {
        let arguments = ArgumentRewriter.rewrite(Array(CommandLine.arguments.dropFirst()))
        if let name = ArgumentRewriter.helpTarget(arguments) {
            let type = name == "canal" ? Canal.self : subcommandTypes[name]
            if let type {
                let epilogue = HelpText.epilogue(for: name).map { "\n\n" + $0 } ?? ""
                print(Canal.helpMessage(for: type) + epilogue)
                processExit(0)
            }
        }
        let type: any ParsableCommand.Type
        let rest: [String]
        if let first = arguments.first, let subcommand = subcommandTypes[first] {
            (type, rest) = (subcommand, Array(arguments.dropFirst()))
        } else {
            (type, rest) = (Canal.self, arguments)
        }
        do {
            var command = try type.parseAsRoot(rest)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = type.exitCode(for: error)
            var message = type.fullMessage(for: error)
            if type != Canal.self {
                // Name the subcommand as it was typed: `canal serve`, not `serve`.
                let name = type._commandName
                message = message.replacingOccurrences(of: "Usage: \(name)", with: "Usage: canal \(name)")
                    .replacingOccurrences(of: "'\(name) ", with: "'canal \(name) ")
            }
            if code == .success {
                if !message.isEmpty { print(message) }
                processExit(0)
            }
            if !message.isEmpty {
                let lowercased = message.hasPrefix("Error: ") ? "error: " + message.dropFirst(7) : message
                Terminal.writeToStandardError(lowercased + "\n")
            }
            Terminal.restore()
            processExit(code == .validationFailure ? ExitStatus.usage.rawValue : code.rawValue)
        }
    }
}
