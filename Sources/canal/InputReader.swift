import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the person (or the pipe) on standard input did.
enum InputEvent: Sendable, Equatable {
    case line(String)
    /// Ctrl-C in the line editor.
    case interrupt
    /// End of input: Ctrl-D on an empty line, or the end of a pipe or file.
    case endOfInput
}

/// Reads standard input on a thread of its own (reads block, and standard input may be a
/// regular file, which event loops cannot watch).
///
/// With a terminal on both ends it runs the line editor in raw mode; otherwise each line
/// of input is one event.
enum InputReader {
    static func start(interactive: Bool, console: Console, handler: @escaping @Sendable (InputEvent) -> Void) {
        let thread = Thread {
            if interactive, Terminal.enableRawMode() {
                atexit { Terminal.restore() }
                runEditor(console: console, handler: handler)
            } else {
                runLines(handler: handler)
            }
        }
        thread.name = "canal-input"
        thread.start()
    }

    private static func runEditor(console: Console, handler: @Sendable (InputEvent) -> Void) {
        var decoder = KeyDecoder()
        var editor = LineEditor()
        console.update(editor)
        console.showPrompt()
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            let count = readInput(&buffer)
            guard count > 0 else {
                handler(.endOfInput)
                return
            }
            for key in decoder.feed(buffer[0..<count]) {
                switch editor.handle(key) {
                case .unchanged:
                    break
                case .edited:
                    console.update(editor)
                case .submitted(let line):
                    console.commit(line, editor: editor)
                    handler(.line(line))
                case .interrupted:
                    handler(.interrupt)
                case .endOfInput:
                    handler(.endOfInput)
                case .redrawScreen:
                    console.clearScreen()
                }
            }
        }
    }

    private static func runLines(handler: @Sendable (InputEvent) -> Void) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = readInput(&buffer)
            if count <= 0 { break }
            pending.append(contentsOf: buffer[0..<count])
            var start = 0
            while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                handler(.line(decodeLine(pending[start..<newline])))
                start = newline + 1
            }
            pending.removeFirst(start)
        }
        if !pending.isEmpty { handler(.line(decodeLine(pending[...]))) }
        handler(.endOfInput)
    }

    /// A line without its `\r\n` or `\n`; invalid UTF-8 becomes U+FFFD (text messages must be UTF-8).
    private static func decodeLine(_ bytes: ArraySlice<UInt8>) -> String {
        let trimmed = bytes.last == UInt8(ascii: "\r") ? bytes.dropLast() : bytes
        return String(decoding: trimmed, as: UTF8.self)
    }

    /// `read(2)` on standard input, retried on EINTR; 0 at end of input or on error.
    private static func readInput(_ buffer: inout [UInt8]) -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            return max(count, 0)
        }
    }
}
