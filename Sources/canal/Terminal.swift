import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the process is attached to, and the raw mode the line editor needs.
enum Terminal {
    static func isTerminal(_ descriptor: Int32) -> Bool { isatty(descriptor) == 1 }

    static var stdinIsTerminal: Bool { isTerminal(STDIN_FILENO) }
    static var stdoutIsTerminal: Bool { isTerminal(STDOUT_FILENO) }
    static var stderrIsTerminal: Bool { isTerminal(STDERR_FILENO) }

    /// The width of the terminal on standard output, 80 if it cannot be known.
    static func columns() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// Colour is on for a terminal unless `--no-color` or the `NO_COLOR` convention
    /// (https://no-color.org) turns it off, or the terminal is `dumb`.
    static func wantsColor(noColorFlag: Bool) -> Bool {
        if noColorFlag { return false }
        if let value = getenv("NO_COLOR"), value.pointee != 0 { return false }
        if let term = getenv("TERM"), String(cString: term) == "dumb" { return false }
        return true
    }

    /// The terminal settings saved by `enableRawMode`, restored by `restore` (which may
    /// run on another thread, at exit).
    private static let saved = NIOLockedValueBox<termios?>(nil)

    /// Turns off line buffering, echo and signal keys on standard input, so that the
    /// line editor sees every key (Ctrl-C arrives as byte 3). Output processing stays
    /// on, so `\n` still moves to the start of the next line.
    static func enableRawMode() -> Bool {
        var settings = termios()
        guard tcgetattr(STDIN_FILENO, &settings) == 0 else { return false }
        saved.withLockedValue { $0 = settings }
        settings.c_lflag &= ~tcflag_t(ECHO | ICANON | ISIG | IEXTEN)
        settings.c_iflag &= ~tcflag_t(IXON | ICRNL | BRKINT | INPCK | ISTRIP)
        withUnsafeMutableBytes(of: &settings.c_cc) { bytes in
            bytes[Int(VMIN)] = 1
            bytes[Int(VTIME)] = 0
        }
        return tcsetattr(STDIN_FILENO, TCSAFLUSH, &settings) == 0
    }

    /// Puts the terminal back as it was. Safe to call more than once, and from any thread.
    static func restore() {
        saved.withLockedValue { saved in
            guard var settings = saved else { return }
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &settings)
        }
    }

    /// Writes straight to file descriptor 2 (the C `stderr` stream is shared mutable state).
    static func writeToStandardError(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Reads a line from the terminal with echo off (for a passphrase), or nil if
    /// standard input is not a terminal.
    static func readSecret(prompt: String) -> String? {
        guard stdinIsTerminal else { return nil }
        var settings = termios()
        guard tcgetattr(STDIN_FILENO, &settings) == 0 else { return nil }
        let original = settings
        settings.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &settings)
        defer {
            var back = original
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &back)
            writeToStandardError("\n")
        }
        writeToStandardError(prompt)
        return readLine(strippingNewline: true)
    }
}

/// ANSI colours, as wscat uses them: green for state, blue for what arrives, yellow for errors.
enum ANSIColor: String {
    case red = "\u{1B}[31m"
    case green = "\u{1B}[32m"
    case yellow = "\u{1B}[33m"
    case blue = "\u{1B}[34m"
    case dim = "\u{1B}[2m"

    static let reset = "\u{1B}[0m"
    /// Carriage return and erase the whole line: removes the prompt before printing over it.
    static let clearLine = "\r\u{1B}[2K"
}
