/// A key press as the line editor sees it.
enum Key: Equatable {
    case character(Character)
    case enter
    case backspace
    case delete
    case left, right, home, end, up, down
    case wordLeft, wordRight, deleteWordBackward
    /// Ctrl and a letter, for the keys without a name above (Ctrl-A is `control("a")`).
    case control(Character)
}

/// Turns the bytes a terminal sends in raw mode into keys: UTF-8 characters, control
/// keys, and the escape sequences of arrows, Home, End and Delete (both the `ESC [` and
/// the `ESC O` forms). Incomplete input waits for the next `feed`.
struct KeyDecoder {
    private var pending: [UInt8] = []

    mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [Key] where Bytes.Element == UInt8 {
        pending.append(contentsOf: bytes)
        var keys: [Key] = []
        while !pending.isEmpty {
            guard let (key, used) = decodeOne() else { break }  // incomplete: wait for more
            pending.removeFirst(used)
            if let key { keys.append(key) }
        }
        return keys
    }

    /// The key at the start of `pending` and how many bytes it took, or nil if more bytes are needed.
    private func decodeOne() -> (Key?, Int)? {
        let first = pending[0]
        switch first {
        case 0x0D, 0x0A: return (.enter, 1)
        case 0x7F, 0x08: return (.backspace, 1)
        case 0x09: return (.character("\t"), 1)
        case 0x1B: return decodeEscape()
        case 0x01...0x1A: return (.control(Character(UnicodeScalar(first + 0x60))), 1)
        case 0x00, 0x1C...0x1F: return (nil, 1)
        case 0x20..<0x80: return (.character(Character(UnicodeScalar(first))), 1)
        default: return decodeUTF8()
        }
    }

    private func decodeEscape() -> (Key?, Int)? {
        guard pending.count >= 2 else { return nil }
        switch pending[1] {
        case UInt8(ascii: "["), UInt8(ascii: "O"):
            // CSI: parameter bytes 0x30-0x3F, then a final byte 0x40-0x7E.
            var index = 2
            while index < pending.count, (0x30...0x3F).contains(pending[index]) { index += 1 }
            guard index < pending.count else { return nil }
            let parameters = String(decoding: pending[2..<index], as: UTF8.self)
            return (csiKey(final: pending[index], parameters: parameters), index + 1)
        case UInt8(ascii: "b"): return (.wordLeft, 2)
        case UInt8(ascii: "f"): return (.wordRight, 2)
        case 0x7F, 0x08: return (.deleteWordBackward, 2)
        default: return (nil, 1)  // a lone Escape: ignore it, keep what follows
        }
    }

    private func csiKey(final: UInt8, parameters: String) -> Key? {
        switch final {
        case UInt8(ascii: "A"): return .up
        case UInt8(ascii: "B"): return .down
        case UInt8(ascii: "C"): return parameters.hasSuffix(";5") || parameters.hasSuffix(";3") ? .wordRight : .right
        case UInt8(ascii: "D"): return parameters.hasSuffix(";5") || parameters.hasSuffix(";3") ? .wordLeft : .left
        case UInt8(ascii: "H"): return .home
        case UInt8(ascii: "F"): return .end
        case UInt8(ascii: "~"):
            switch parameters {
            case "1", "7": return .home
            case "4", "8": return .end
            case "3": return .delete
            default: return nil
            }
        default: return nil
        }
    }

    private func decodeUTF8() -> (Key?, Int)? {
        let first = pending[0]
        let length: Int
        switch first {
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return (nil, 1)  // not a lead byte
        }
        guard pending.count >= length else { return nil }
        let text = String(decoding: pending[0..<length], as: UTF8.self)
        guard let scalar = text.unicodeScalars.first, scalar != "\u{FFFD}" else { return (nil, 1) }
        return (.character(Character(scalar)), length)
    }
}
