/// The editing state of the prompt line: text, cursor and history, with no I/O.
///
/// Keys follow readline: Left/Right (Ctrl-B/F), Home/End (Ctrl-A/E), Backspace, Delete,
/// Ctrl-U (erase to start), Ctrl-K (erase to end), Ctrl-W (erase word), Alt-B/F (word
/// moves), Up/Down (Ctrl-P/N) through history, Ctrl-C (quit), Ctrl-D (quit on an empty
/// line, else delete), Ctrl-L (redraw).
struct LineEditor {
    enum Outcome: Equatable {
        /// Nothing visible changed.
        case unchanged
        /// The line or the cursor changed: redraw.
        case edited
        case submitted(String)
        case interrupted
        case endOfInput
        case redrawScreen
    }

    private(set) var buffer: [Character] = []
    private(set) var cursor = 0
    private(set) var history: [String] = []
    /// The history entry shown, or nil while editing a new line.
    private var historyIndex: Int?
    /// The new line being typed, kept while browsing history.
    private var draft: [Character] = []
    let historyLimit: Int

    init(historyLimit: Int = 1000) {
        self.historyLimit = historyLimit
    }

    var line: String { String(buffer) }

    mutating func handle(_ key: Key) -> Outcome {
        switch key {
        case .character(let character):
            buffer.insert(character, at: cursor)
            cursor += 1
            return .edited
        case .enter:
            let text = line
            if !text.isEmpty, history.last != text {
                history.append(text)
                if history.count > historyLimit { history.removeFirst(history.count - historyLimit) }
            }
            buffer = []
            cursor = 0
            historyIndex = nil
            draft = []
            return .submitted(text)
        case .backspace:
            guard cursor > 0 else { return .unchanged }
            cursor -= 1
            buffer.remove(at: cursor)
            return .edited
        case .delete:
            guard cursor < buffer.count else { return .unchanged }
            buffer.remove(at: cursor)
            return .edited
        case .left: return move(to: cursor - 1)
        case .right: return move(to: cursor + 1)
        case .home: return move(to: 0)
        case .end: return move(to: buffer.count)
        case .wordLeft: return move(to: wordStart(before: cursor))
        case .wordRight: return move(to: wordEnd(after: cursor))
        case .deleteWordBackward: return eraseWordBackward()
        case .up: return recallOlder()
        case .down: return recallNewer()
        case .control(let letter): return handleControl(letter)
        }
    }

    private mutating func handleControl(_ letter: Character) -> Outcome {
        switch letter {
        case "a": return move(to: 0)
        case "e": return move(to: buffer.count)
        case "b": return move(to: cursor - 1)
        case "f": return move(to: cursor + 1)
        case "p": return recallOlder()
        case "n": return recallNewer()
        case "c": return .interrupted
        case "d": return buffer.isEmpty ? .endOfInput : handle(.delete)
        case "u":
            guard cursor > 0 else { return .unchanged }
            buffer.removeFirst(cursor)
            cursor = 0
            return .edited
        case "k":
            guard cursor < buffer.count else { return .unchanged }
            buffer.removeLast(buffer.count - cursor)
            return .edited
        case "w": return eraseWordBackward()
        case "l": return .redrawScreen
        default: return .unchanged
        }
    }

    private mutating func move(to position: Int) -> Outcome {
        let clamped = min(max(position, 0), buffer.count)
        guard clamped != cursor else { return .unchanged }
        cursor = clamped
        return .edited
    }

    private mutating func eraseWordBackward() -> Outcome {
        let start = wordStart(before: cursor)
        guard start < cursor else { return .unchanged }
        buffer.removeSubrange(start..<cursor)
        cursor = start
        return .edited
    }

    /// Skips whitespace, then the word before `position`.
    private func wordStart(before position: Int) -> Int {
        var index = position
        while index > 0, buffer[index - 1].isWhitespace { index -= 1 }
        while index > 0, !buffer[index - 1].isWhitespace { index -= 1 }
        return index
    }

    private func wordEnd(after position: Int) -> Int {
        var index = position
        while index < buffer.count, buffer[index].isWhitespace { index += 1 }
        while index < buffer.count, !buffer[index].isWhitespace { index += 1 }
        return index
    }

    private mutating func recallOlder() -> Outcome {
        guard !history.isEmpty else { return .unchanged }
        let index: Int
        switch historyIndex {
        case nil:
            draft = buffer
            index = history.count - 1
        case let current?:
            guard current > 0 else { return .unchanged }
            index = current - 1
        }
        historyIndex = index
        buffer = Array(history[index])
        cursor = buffer.count
        return .edited
    }

    private mutating func recallNewer() -> Outcome {
        guard let current = historyIndex else { return .unchanged }
        if current + 1 < history.count {
            historyIndex = current + 1
            buffer = Array(history[current + 1])
        } else {
            historyIndex = nil
            buffer = draft
        }
        cursor = buffer.count
        return .edited
    }

    /// The part of the line to show in `width` columns, scrolled so that the cursor is
    /// visible, and the cursor's column within it. Tabs show as spaces.
    func visible(width: Int) -> (text: String, cursorColumn: Int) {
        let width = max(width, 1)
        let start = cursor < width ? 0 : cursor - width + 1
        let end = min(buffer.count, start + width)
        let text = String(buffer[start..<end].map { $0 == "\t" ? " " : $0 })
        return (text, cursor - start)
    }
}
