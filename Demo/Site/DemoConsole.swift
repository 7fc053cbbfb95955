#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the demo's Socket.IO examples print what happens, as the tutorial's servers print
/// to their console: one line per connection, message, tic and disconnection, on standard
/// output, in colour when it is a terminal.
public struct DemoConsole: Sendable {
    public enum Style: Sendable {
        /// Connections coming and going (yellow).
        case event
        /// Messages received (blue).
        case message
        /// Tics (green).
        case tic
    }

    let colour: Bool

    /// - Parameter colour: ANSI colours; decide it from `isatty` and `NO_COLOR`.
    public init(colour: Bool) {
        self.colour = colour
    }

    public func print(_ line: String, _ style: Style) {
        let text: String
        if colour {
            let code: String
            switch style {
            case .event: code = "33"
            case .message: code = "34"
            case .tic: code = "32"
            }
            text = "\u{1B}[\(code)m\(line)\u{1B}[0m\n"
        } else {
            text = line + "\n"
        }
        Swift.print(text, terminator: "")
        fflush(nil)
    }

    /// What a peer sent, with control characters shown as `^X` so that it cannot drive
    /// the terminal.
    static func printable(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                output += "^" + String(UnicodeScalar(UInt8(scalar.value ^ 0x40)))
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}
