import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Everything `canal` prints, from any thread, without tearing the prompt line.
///
/// On a terminal (`decorated`) output looks like wscat's: `< ` before what arrives, state
/// in green, and the `> ` prompt redrawn under each new line. Otherwise standard output
/// carries only the data, one message per line, and state lines go to standard error.
final class Console: Sendable {
    struct Style: Sendable {
        /// Prefixes and the prompt (standard output is a terminal and `-x` is not used).
        var decorated: Bool
        var color: Bool
        var timestamps: Bool
        /// Drop state lines when they would go to standard error.
        var quiet: Bool
        /// Binary messages longer than this are cut in decorated output.
        var dumpLimit = 4096
    }

    private struct State {
        var promptVisible = false
        var editor = LineEditor()
    }

    let style: Style
    private let state = NIOLockedValueBox(State())
    private static let prompt = "> "

    init(style: Style) {
        self.style = style
    }

    // MARK: What arrives

    /// A text message; `label` names the client in listen mode.
    func incoming(_ text: String, label: String? = nil) {
        if style.decorated {
            let shown = DisplayText.sanitizedForTerminal(text)
            emit([prefix(label) + "< " + shown], color: .blue)
        } else {
            emit([text], color: nil)
        }
    }

    /// Something that arrived, shown over several lines (a Socket.IO event and the hex dump
    /// of its bytes): `< ` before the first on a terminal, the lines as they are otherwise.
    func incoming(lines: [String], label: String? = nil) {
        guard let first = lines.first else { return }
        if style.decorated {
            let rest = lines.dropFirst().map(DisplayText.sanitizedForTerminal)
            emit([prefix(label) + "< " + DisplayText.sanitizedForTerminal(first)] + rest, color: .blue)
        } else {
            // In a pipe the label stays: lines from several namespaces must be told apart.
            emit([prefix(label) + first] + lines.dropFirst(), color: nil)
        }
    }

    func incomingBinary(_ bytes: [UInt8], label: String? = nil) {
        if style.decorated {
            let header = prefix(label) + "< binary message, \(bytes.count) byte\(bytes.count == 1 ? "" : "s")"
            let dump = HexDump.lines(bytes, limit: style.dumpLimit).map { "  " + $0 }
            emit([header] + dump, color: .blue)
        } else {
            emit(HexDump.lines(bytes), color: nil)
        }
    }

    /// A ping or pong notice (`-P`): shown like a message, as wscat does.
    func notice(_ text: String, label: String? = nil) {
        if style.decorated {
            emit([prefix(label) + "< " + text], color: .blue)
        } else {
            emit([text], color: nil)
        }
    }

    // MARK: State and errors

    /// Connected, Disconnected, Listening: green on a terminal, else on standard error.
    func status(_ text: String, label: String? = nil) {
        if style.decorated {
            emit([prefix(label) + text], color: .green)
        } else if !style.quiet {
            emit([prefix(label) + text], color: nil, toStandardError: true)
        }
    }

    /// Help and hints: plain on a terminal, else on standard error.
    func info(_ lines: [String]) {
        if style.decorated {
            emit(lines, color: nil)
        } else if !style.quiet {
            emit(lines, color: nil, toStandardError: true)
        }
    }

    /// Always on standard error, after `error: `.
    func error(_ text: String, label: String? = nil) {
        emit([prefix(label) + "error: " + text], color: .yellow, toStandardError: true)
    }

    /// An error and its indented details.
    func error(lines: [String]) {
        guard let first = lines.first else { return }
        emit(["error: " + first] + lines.dropFirst(), color: .yellow, toStandardError: true)
    }

    // MARK: The prompt

    /// Shows the prompt with the current line under the output from now on.
    func showPrompt() {
        guard style.decorated else { return }
        state.withLockedValue { state in
            state.promptVisible = true
            write(renderPrompt(state.editor), to: STDOUT_FILENO)
        }
    }

    /// Removes the prompt (before exiting, or while not connected).
    func hidePrompt() {
        state.withLockedValue { state in
            guard state.promptVisible else { return }
            state.promptVisible = false
            write(ANSIColor.clearLine, to: STDOUT_FILENO)
        }
    }

    /// Redraws the prompt line after a key press.
    func update(_ editor: LineEditor) {
        state.withLockedValue { state in
            state.editor = editor
            guard state.promptVisible else { return }
            write(renderPrompt(editor), to: STDOUT_FILENO)
        }
    }

    /// Leaves a submitted line on screen as `> text` and starts a fresh prompt.
    func commit(_ line: String, editor: LineEditor) {
        state.withLockedValue { state in
            state.editor = editor
            guard state.promptVisible else { return }
            var text = ANSIColor.clearLine + timestamp() + Self.prompt + DisplayText.sanitizedForTerminal(line) + "\n"
            text += renderPrompt(editor)
            write(text, to: STDOUT_FILENO)
        }
    }

    /// Ctrl-L: clears the screen and redraws the prompt.
    func clearScreen() {
        state.withLockedValue { state in
            write("\u{1B}[H\u{1B}[2J" + renderPrompt(state.editor), to: STDOUT_FILENO)
        }
    }

    // MARK: Writing

    private func prefix(_ label: String?) -> String {
        label.map { "[\($0)] " } ?? ""
    }

    private func emit(_ lines: [String], color: ANSIColor?, toStandardError: Bool = false) {
        let descriptor = toStandardError ? STDERR_FILENO : STDOUT_FILENO
        let colored = color != nil && (toStandardError ? style.color && Terminal.stderrIsTerminal : style.color)
        let stamp = timestamp()
        var text = ""
        for line in lines {
            text += colored ? color!.rawValue + stamp + line + ANSIColor.reset : stamp + line
            text += "\n"
        }
        state.withLockedValue { state in
            if state.promptVisible {
                write(ANSIColor.clearLine, to: STDOUT_FILENO)
            }
            write(text, to: descriptor)
            if state.promptVisible {
                write(renderPrompt(state.editor), to: STDOUT_FILENO)
            }
        }
    }

    private func renderPrompt(_ editor: LineEditor) -> String {
        let room = Terminal.columns() - Self.prompt.count - 1
        let (text, column) = editor.visible(width: room)
        var out = ANSIColor.clearLine + Self.prompt + DisplayText.sanitizedForTerminal(text)
        let back = text.count - column
        if back > 0 { out += "\u{1B}[\(back)D" }
        return out
    }

    private func timestamp() -> String {
        guard style.timestamps else { return "" }
        var now = timeval()
        gettimeofday(&now, nil)
        var seconds = time_t(now.tv_sec)
        var parts = tm()
        localtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(now.tv_usec) / 1000
        let millisText = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "[\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millisText)] "
    }

    /// Writes all of `text`; a closed output (EPIPE) is ignored.
    private func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                posixWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

/// `write(2)`, under a name the `Console.write` method does not hide.
private func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
