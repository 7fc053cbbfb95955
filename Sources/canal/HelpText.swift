/// The parts of `--help` that read better after the option list, as in a man page.
/// ArgumentParser puts the discussion before the options, so `Canal.main` appends these.
enum HelpText {
    static let interaction = """
        TYPING AND PIPES
          What you type is sent as a text message; what arrives is printed after "< ".
          On a terminal the line can be edited: Left/Right, Home/End, Backspace,
          Ctrl-A/E (start/end), Ctrl-U/K (erase to start/end), Ctrl-W (erase word),
          Up/Down (history). Ctrl-C, or Ctrl-D on an empty line, closes with 1000.
          When standard input is a pipe, each line is one message and the end of
          input closes with 1000 (after -w seconds, to let the last replies arrive).
          When standard output is not a terminal it gets
          only the messages, one per line (binary ones as a hex dump), and state
          lines (Connected, Disconnected) go to standard error.
        """

    static let slashCommands = """
        SLASH COMMANDS (with --slash)
        \(SlashCommand.helpText.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        """

    static let connectExamples = """
        EXAMPLES
          canal -c ws://127.0.0.1:8080/                 talk to a server
          canal --slash -P -c localhost:8080            wscat's tutorial session
          canal -c ws://host/ -x '{"op":"sub"}' -w 5    send, print replies for 5 s
          canal -c ws://host/ -x one -x two -w -1       send two, then stay
          printf 'a\\nb\\n' | canal -c ws://host/ -w 1  lines in, replies out
          canal --reconnect --timestamps -c ws://host/  log a feed, riding out restarts
        """

    static let listenExamples = """
        EXAMPLES
          canal -l 8000                      talk to clients of 127.0.0.1:8000
          canal -l 8000 --bind 0.0.0.0       ... on every interface
          canal --slash -P -l 0              any free port; /ping, /close go to all
        """

    static let exitStatus = """
        EXIT STATUS
          0  closed normally: Ctrl-C, end of input, /close, the end of -w, or the
             server closed with 1000, 1001 or no status code
          1  could not connect: refused, unreachable, TLS failure, handshake refused
             (HTTP status other than 101), too many redirects; or, with -l, the port
             could not be bound
          2  usage error: unknown option, bad URL, header or file
          3  closed abnormally: dropped without a closing handshake (1006), protocol
             error, or the server closed with any other code (1002-1015, 3000-4999)
        """

    static let sseExamples = """
        EXAMPLES
          canal sse http://127.0.0.1:8080/dashboard/events     follow the demo dashboard
          canal sse --json -c 5 https://host/feed                five events as JSON lines
          canal sse --last-event-id 41 http://host/feed          resume after event 41
        """

    static let sseExitStatus = """
        EXIT STATUS
          0  Ctrl-C, --count reached, the server answered 204 No Content, or with
             --no-reconnect the server ended the stream properly
          1  could not connect, a status other than 200, a response that is not
             text/event-stream, or --max-reconnects failed attempts in a row
          2  usage error: unknown option, bad URL or header
          3  with --no-reconnect, the stream dropped without its proper end; or an
             event larger than the client's limit (1 MiB)
        """

    static let socketIOInteraction = """
        TYPING AND PIPES
          Each event that arrives is printed as its name and its arguments, each as JSON
          (bytes as <binary N bytes>, then a hex dump); an acknowledgement as
          "ack EVENT" and its arguments. A typed line is emitted as a "message" event;
          lines starting with / are commands. When standard input is a pipe, each line
          is one event and the end of input disconnects (after -w seconds, and once the
          answers to /call are in). When standard output is not a terminal it gets only
          the events and acknowledgements, one per line; state lines (Connected,
          Disconnected, Reconnecting) go to standard error.
        """

    static let socketIOCommands = """
        COMMANDS (client mode)
        \(SocketIOInput.clientHelp.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))

        COMMANDS (listen mode)
        \(SocketIOInput.listenHelp.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        """

    static let socketIOExamples = """
        EXAMPLES
          canal io http://127.0.0.1:3000                    talk to the main namespace
          canal io http://host:3000/admin --auth '{"role":"admin"}'
          canal io wss://host/ -H 'Cookie: s=1' --transport websocket
          canal io http://host:3000 -x '/call join lobby' -w 1   ask, print the answer
          printf 'hello\\n/emit chat "hi" 2\\n' | canal io http://host:3000 -w 1
          canal io --reconnect --timestamps http://host:3000   log events, riding out restarts
          canal io --listen 3000                            a server for Socket.IO clients
        """

    static let socketIOExitStatus = """
        EXIT STATUS
          0  ended normally: Ctrl-C, end of input, /disconnect, the end of -w, or the
             server disconnected the socket
          1  could not connect: refused, unreachable, TLS failure, HTTP error, not a
             Socket.IO server, the namespace refused (connect_error) or did not answer;
             or, with --listen, the port could not be bound
          2  usage error: unknown option, bad URL, header, --auth or file
          3  the connection was lost (transport close or error, ping timeout) or the
             server sent something that is not Socket.IO (parse error)
        """

    /// What follows the generated help of `command` (`canal`, `connect` or `listen`).
    static func epilogue(for command: String) -> String? {
        switch command {
        case "canal":
            return [interaction, slashCommands, connectExamples, listenExamples, exitStatus].joined(separator: "\n\n")
        case "connect": return [interaction, slashCommands, connectExamples, exitStatus].joined(separator: "\n\n")
        case "listen": return [interaction, slashCommands, listenExamples, exitStatus].joined(separator: "\n\n")
        case "sse": return [sseExamples, sseExitStatus].joined(separator: "\n\n")
        case "io":
            return [socketIOInteraction, socketIOCommands, socketIOExamples, socketIOExitStatus].joined(
                separator: "\n\n")
        default: return nil
        }
    }
}
