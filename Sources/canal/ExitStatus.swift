#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The exit codes of `canal`, documented in `canal --help` (`HelpText.exitStatus`).
enum ExitStatus: Int32, Sendable {
    /// The session ended as someone chose: Ctrl-C, end of input, `/close`, the end of
    /// `-w`, or the server closing with 1000 (normal), 1001 (going away) or no code.
    case success = 0
    /// No connection: refused, unreachable, TLS failure, failed handshake (HTTP status
    /// other than 101), too many redirects; in listen mode, the port could not be bound.
    case connectionFailed = 1
    /// The command line is wrong: unknown option, bad URL, header or file.
    case usage = 2
    /// The connection ended badly: dropped without a closing handshake (1006), a
    /// protocol error, or the server closed it with an error or application code.
    case closedAbnormally = 3

    /// Leaves the process with this status, putting the terminal back first.
    func terminate(console: Console?) -> Never {
        console?.hidePrompt()
        Terminal.restore()
        processExit(rawValue)
    }
}

/// `exit(3)`, under a name that commands' `exit(withError:)` does not hide.
func processExit(_ code: Int32) -> Never {
    exit(code)
}
