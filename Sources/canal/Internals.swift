import ArgumentParser
import CanalWebSocket
import Foundation

/// `canal internals ...`: the tool's pure logic, reachable from the command line so that
/// the pytest suite can check it without a Swift test target. Hidden from `--help`.
struct Internals: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Checks of canal's own parsing and formatting, for its test suite.",
        shouldDisplay: false,
        subcommands: [Slash.self, SocketIOLine.self, Dump.self, Backoff.self, Header.self, Keys.self, Location.self]
    )

    struct Slash: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Parse a line as with --slash; print the command.")

        @Argument var line: String

        func run() throws {
            switch SlashCommand.parse(line) {
            case nil: print("message \(DisplayText.quoted(line))")
            case .success(let command)?: print(command.summary)
            case .failure(let error)?:
                print("error: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct SocketIOLine: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "io-line", abstract: "Parse a line as canal io does; print what it does.")

        @Argument var line: String

        func run() throws {
            switch SocketIOInput.parse(line) {
            case .success(let input): print(input.summary)
            case .failure(let error):
                print("error: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hexdump",
            abstract: "Print standard input as canal shows binary messages."
        )

        @Option(help: "Show at most this many bytes.") var limit: Int?

        func run() throws {
            let bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
            for line in HexDump.lines(bytes, limit: limit) { print(line) }
        }
    }

    struct Backoff: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the reconnection delays, in seconds.")

        @Option(help: "How many attempts.") var attempts = 8
        @Option(help: "The random input in 0..<1; 0.5 means no jitter.") var random = 0.5

        func run() throws {
            let schedule = BackoffSchedule()
            for attempt in 1...max(attempts, 1) {
                let delay = schedule.delay(attempt: attempt, random: random)
                print(String(format: "%.3f", delay))
            }
        }
    }

    struct Header: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Parse a -H value.")

        @Argument var text: String

        func run() throws {
            switch RequestHeader.parse(text) {
            case .success(let header):
                print("name \(DisplayText.quoted(header.name)) value \(DisplayText.quoted(header.value))")
            case .failure(let error):
                print("error: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Keys: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Feed standard input to the line editor as key presses; print what it does."
        )

        func run() throws {
            let bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
            var decoder = KeyDecoder()
            var editor = LineEditor()
            for key in decoder.feed(bytes) {
                switch editor.handle(key) {
                case .unchanged, .edited, .redrawScreen: break
                case .submitted(let line): print("submit \(DisplayText.quoted(line))")
                case .interrupted: print("interrupt")
                case .endOfInput: print("eof")
                }
            }
            print("line \(DisplayText.quoted(editor.line)) cursor \(editor.cursor)")
        }
    }

    struct Location: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "redirect",
            abstract: "Resolve a Location header against a URL, as -L does."
        )

        @Argument var url: String
        @Argument var location: String

        func run() throws {
            let base = try WebSocketURL(parsing: url)
            print(Redirect.target(location: location, from: base))
        }
    }
}
