/// How text from the network is shown: quoted in status lines, and made harmless for a
/// terminal (a message must not be able to move the cursor or change colours).
enum DisplayText {
    /// `"text"` with quotes, backslashes and control characters escaped.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\x" + HexDump.hex(Int(scalar.value), width: 2)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A control frame payload: quoted text when it is UTF-8, else `0x` and hex digits.
    static func payload(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        if Array(text.utf8) == bytes { return quoted(text) }
        return "0x" + HexDump.hexString(bytes)
    }

    /// Replaces control characters other than newline and tab with caret notation
    /// (ESC becomes `^[`), so that received text cannot drive the terminal.
    static func sanitizedForTerminal(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                out += scalar.value == 0x7F ? "^?" : "^" + String(UnicodeScalar(UInt8(scalar.value + 0x40)))
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\n" && scalar != "\t") || scalar.value == 0x7F
    }
}
