import CanalWebSocket
import Foundation
import NIOCore

/// A line typed with `--slash` that starts with `/`: a control frame, a binary message,
/// or help. `//text` sends `/text` as a text message.
enum SlashCommand: Equatable {
    case ping([UInt8])
    case pong([UInt8])
    case close(code: UInt16, reason: String)
    case binary([UInt8])
    case text(String)
    case help

    struct ParseError: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    static let helpText = """
        /ping [data]              send a ping (data: up to 125 bytes of text)
        /pong [data]              send an unsolicited pong
        /close [code [reason]]    start the closing handshake (default 1000)
        /binary hex 01ff...       send a binary message from hex digits
        /binary base64 AQI=       send a binary message from base64
        /binary file PATH         send a file's bytes as one binary message
        //text                    send "/text" as a text message
        /help                     this list
        """

    /// Parses `line`. Returns nil when the line is a plain message (no leading `/`).
    ///
    /// - Parameter readFile: reads `/binary file` paths; injected so tests need no files.
    static func parse(
        _ line: String,
        readFile: (String) -> [UInt8]? = { path in FileManager.default.contents(atPath: path).map { Array($0) } }
    ) -> Result<SlashCommand, ParseError>? {
        guard line.hasPrefix("/") else { return nil }
        if line.hasPrefix("//") { return .success(.text(String(line.dropFirst()))) }
        let body = line.dropFirst()
        let name = body.prefix { !$0.isWhitespace }
        let rest = body.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
        switch name {
        case "ping": return controlPayload(rest, for: "ping").map(SlashCommand.ping)
        case "pong": return controlPayload(rest, for: "pong").map(SlashCommand.pong)
        case "close": return parseClose(rest)
        case "binary": return parseBinary(rest, readFile: readFile)
        case "help", "?": return .success(.help)
        default: return .failure(ParseError(description: "unknown command /\(name) (type /help for the list)"))
        }
    }

    // RFC 6455 §5.5: control frame payloads are at most 125 bytes.
    private static func controlPayload(_ text: String, for name: String) -> Result<[UInt8], ParseError> {
        let bytes = Array(text.utf8)
        guard bytes.count <= 125 else {
            return .failure(ParseError(description: "\(name) data is limited to 125 bytes (this is \(bytes.count))"))
        }
        return .success(bytes)
    }

    /// `/close`, `/close 4000`, `/close 4000 bye bye`, and wscat's `/close 4000, bye`.
    private static func parseClose(_ rest: String) -> Result<SlashCommand, ParseError> {
        if rest.isEmpty { return .success(.close(code: 1000, reason: "")) }
        var codeText = rest.prefix { !$0.isWhitespace }
        var reason = rest.dropFirst(codeText.count).trimmingCharacters(in: .whitespaces)
        if codeText.hasSuffix(",") {
            codeText = codeText.dropLast()
        } else if reason.hasPrefix(",") {
            reason = reason.dropFirst().trimmingCharacters(in: .whitespaces)
        }
        guard let value = UInt16(codeText) else {
            return .failure(
                ParseError(description: "close code \"\(codeText)\" is not a number (try /close 1000 done)"))
        }
        // RFC 6455 §7.4: 1005, 1006 and 1015 are never sent; 3000-4999 are for applications.
        guard WebSocketCloseCode(value).isSendable else {
            return .failure(
                ParseError(description: "close code \(value) cannot be sent (use 1000-1003, 1007-1014 or 3000-4999)")
            )
        }
        // RFC 6455 §5.5: two bytes of code plus the reason fit in 125 bytes.
        guard reason.utf8.count <= 123 else {
            return .failure(
                ParseError(description: "close reason is limited to 123 bytes (this is \(reason.utf8.count))"))
        }
        return .success(.close(code: value, reason: reason))
    }

    private static func parseBinary(_ rest: String, readFile: (String) -> [UInt8]?) -> Result<SlashCommand, ParseError>
    {
        let usage = ParseError(description: "usage: /binary hex DIGITS | /binary base64 TEXT | /binary file PATH")
        let format = rest.prefix { !$0.isWhitespace }
        let argument = rest.dropFirst(format.count).trimmingCharacters(in: .whitespaces)
        guard !argument.isEmpty else { return .failure(usage) }
        switch format.lowercased() {
        case "hex":
            guard let bytes = HexDump.parse(argument) else {
                return .failure(ParseError(description: "\"\(argument)\" is not an even number of hex digits"))
            }
            return .success(.binary(bytes))
        case "base64", "b64":
            var padded = argument.filter { !$0.isWhitespace }
            padded += String(repeating: "=", count: (4 - padded.count % 4) % 4)
            guard let data = Data(base64Encoded: padded) else {
                return .failure(ParseError(description: "\"\(argument)\" is not valid base64"))
            }
            return .success(.binary(Array(data)))
        case "file":
            let path = (argument as NSString).expandingTildeInPath
            guard let bytes = readFile(path) else {
                return .failure(ParseError(description: "cannot read file \"\(argument)\""))
            }
            return .success(.binary(bytes))
        default:
            return .failure(usage)
        }
    }

    /// What a typed, piped or `-x` line sends: the line as a text message, or with
    /// `slash` its command. Errors and `/help` are shown on `console`; they send nothing.
    static func outboundItem(for line: String, slash: Bool, console: Console) -> WebSocketOutboundItem? {
        guard slash, let parsed = parse(line) else { return .message(.text(line)) }
        switch parsed {
        case .failure(let error):
            console.error(error.description)
            return nil
        case .success(.help):
            console.info(helpText.split(separator: "\n").map(String.init))
            return nil
        case .success(let command):
            return command.outboundItem
        }
    }

    /// What goes on the wire, or nil for commands handled locally (`/help`).
    var outboundItem: WebSocketOutboundItem? {
        switch self {
        case .ping(let data): return .ping(ByteBuffer(bytes: data))
        case .pong(let data): return .pong(ByteBuffer(bytes: data))
        case .close(let code, let reason): return .close(code: WebSocketCloseCode(code), reason: reason)
        case .binary(let bytes): return .message(.binary(bytes))
        case .text(let text): return .message(.text(text))
        case .help: return nil
        }
    }

    /// A stable one-line form, printed by `canal internals slash` for the tests.
    var summary: String {
        switch self {
        case .ping(let data): return "ping \(HexDump.hexString(data))"
        case .pong(let data): return "pong \(HexDump.hexString(data))"
        case .close(let code, let reason): return "close \(code) \(DisplayText.quoted(reason))"
        case .binary(let bytes): return "binary \(HexDump.hexString(bytes))"
        case .text(let text): return "text \(DisplayText.quoted(text))"
        case .help: return "help"
        }
    }
}
