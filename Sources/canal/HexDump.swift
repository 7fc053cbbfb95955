/// Binary payloads as text: the `hexdump -C` layout for display, and hex parsing for input.
enum HexDump {
    /// One line per 16 bytes: offset, the bytes in two groups of eight, and the printable
    /// ASCII between bars, as `hexdump -C` prints them.
    ///
    ///     00000000  48 65 6c 6c 6f 00 ff                              |Hello..|
    static func lines<Bytes: Collection>(_ bytes: Bytes, limit: Int? = nil) -> [String] where Bytes.Element == UInt8 {
        let shown = limit.map { Array(bytes.prefix($0)) } ?? Array(bytes)
        var lines: [String] = []
        var offset = 0
        while offset < shown.count {
            let row = shown[offset..<min(offset + 16, shown.count)]
            var line = hex(offset, width: 8) + "  "
            for column in 0..<16 {
                if column == 8 { line += " " }
                if column < row.count {
                    line += hex(Int(row[row.startIndex + column]), width: 2) + " "
                } else {
                    line += "   "
                }
            }
            line += " |" + String(row.map { (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "." }) + "|"
            lines.append(line)
            offset += 16
        }
        if shown.count < bytes.count {
            lines.append("... \(bytes.count - shown.count) more bytes")
        }
        return lines
    }

    /// Parses hex digits, ignoring whitespace, `:` separators and a leading `0x`.
    /// Returns nil for an odd number of digits or a character that is not one.
    static func parse(_ text: String) -> [UInt8]? {
        var digits = Substring(text.filter { !$0.isWhitespace && $0 != ":" })
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
        guard digits.count % 2 == 0, digits.allSatisfy(\.isHexDigit) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            guard let byte = UInt8(digits[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    /// Lowercase hex digits with no separators; `-` for no bytes, so the output is never empty.
    static func hexString<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let text = bytes.map { hex(Int($0), width: 2) }.joined()
        return text.isEmpty ? "-" : text
    }

    static func hex(_ value: Int, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
