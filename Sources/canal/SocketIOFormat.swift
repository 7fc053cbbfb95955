import CanalSocketIOCore
import NIOCore

/// How `canal io` shows Socket.IO arguments: each as JSON, separated by spaces; bytes as
/// `<binary N bytes>` in the line, then as a hex dump under it.
enum SocketIOFormat {
    struct Rendered: Equatable {
        /// The arguments on one line.
        var text: String
        /// The bytes of each `<binary ...>` marker, in order.
        var binaries: [[UInt8]]

        /// The line after `head`, then a hex dump per binary, indented.
        func lines(after head: String, dumpLimit: Int? = nil) -> [String] {
            var lines = [text.isEmpty ? head : head + " " + text]
            for (index, bytes) in binaries.enumerated() {
                if binaries.count > 1 { lines.append("  binary #\(index + 1):") }
                lines += HexDump.lines(bytes, limit: dumpLimit).map { "  " + $0 }
            }
            return lines
        }
    }

    static func arguments(_ values: [SocketIOValue]) -> Rendered {
        var binaries: [[UInt8]] = []
        let parts = values.map { render($0, binaries: &binaries) }
        let numbered = binaries.count > 1
        var counter = 0
        // Number the markers only when there are several.
        let text = parts.joined(separator: " ").split(
            separator: "\u{1}", omittingEmptySubsequences: false
        ).enumerated().map { index, piece -> String in
            guard index > 0 else { return String(piece) }
            let bytes = binaries[counter]
            counter += 1
            let marker = numbered ? "<binary #\(counter), \(bytes.count) bytes>" : "<binary \(bytes.count) bytes>"
            return marker + piece
        }.joined()
        return Rendered(text: text, binaries: binaries)
    }

    /// JSON, with U+0001 where a binary goes (JSON text never holds a raw control character).
    private static func render(_ value: SocketIOValue, binaries: inout [[UInt8]]) -> String {
        switch value {
        case .binary(let bytes):
            binaries.append(Array(bytes.readableBytesView))
            return "\u{1}"
        case .array(let elements) where value.containsBinary:
            return "[" + elements.map { render($0, binaries: &binaries) }.joined(separator: ",") + "]"
        case .object(let members) where value.containsBinary:
            let pairs = members.map { key, member in
                SocketIOJSON.string(.string(key)) + ":" + render(member, binaries: &binaries)
            }
            return "{" + pairs.joined(separator: ",") + "}"
        default:
            return SocketIOJSON.string(value)
        }
    }
}
