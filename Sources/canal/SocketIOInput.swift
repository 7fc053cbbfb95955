import CanalSocketIOCore
import Foundation
import NIOCore

/// A line typed, piped or given with `-x` in `canal io`: plain text is a `message` event
/// (as `socket.send` sends it); a line starting with `/` is a command.
enum SocketIOInput: Equatable {
    case message(String)
    case emit(event: String, arguments: [SocketIOValue])
    /// Emit asking for an acknowledgement, and print it.
    case call(event: String, arguments: [SocketIOValue])
    /// Answer the peer's acknowledgement request number `id`.
    case answer(id: Int, arguments: [SocketIOValue])
    case join(namespace: String, auth: SocketIOValue?)
    case leave(namespace: String?)
    case disconnect
    case help

    struct ParseError: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    static let clientHelp = """
        text                          emit "message" with the text (as socket.send does)
        /emit EVENT [ARG ...]         emit EVENT; each ARG is JSON, a bare word a string,
                                      {"$binary":"01ff"} bytes
        /call EVENT [ARG ...]         emit EVENT asking for an acknowledgement; print it
        /ack N [ARG ...]              answer the server's acknowledgement request #N
        /binary EVENT hex 01ff        emit EVENT with bytes (also: base64 AQI=, file PATH)
        /join NAMESPACE [AUTH]        connect to another namespace on the same connection;
                                      later lines go there
        /leave [NAMESPACE]            leave a namespace (the current one by default)
        /disconnect                   disconnect and exit
        //text                        emit "message" with "/text"
        /help                         this list
        """

    static let listenHelp = """
        text                          emit "message" with the text to every client
        /emit EVENT [ARG ...]         emit EVENT to every client; each ARG is JSON, a bare
                                      word a string, {"$binary":"01ff"} bytes
        /call EVENT [ARG ...]         emit EVENT to every client asking for acknowledgements
        /ack N [ARG ...]              answer a client's acknowledgement request #N
        /binary EVENT hex 01ff        emit EVENT with bytes (also: base64 AQI=, file PATH)
        /disconnect                   disconnect every client (canal goes on listening)
        //text                        emit "message" with "/text"
        /help                         this list
        """

    /// Parses `line`.
    ///
    /// - Parameter readFile: reads `/binary ... file` paths; injected so tests need no files.
    static func parse(
        _ line: String,
        readFile: (String) -> [UInt8]? = { path in FileManager.default.contents(atPath: path).map { Array($0) } }
    ) -> Result<SocketIOInput, ParseError> {
        guard line.hasPrefix("/") else { return .success(.message(line)) }
        if line.hasPrefix("//") { return .success(.message(String(line.dropFirst()))) }
        let body = line.dropFirst()
        let name = body.prefix { !$0.isWhitespace }
        let rest = body.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
        let first = rest.prefix { !$0.isWhitespace }
        let afterFirst = rest.dropFirst(first.count).trimmingCharacters(in: .whitespaces)
        switch name {
        case "emit", "call":
            guard !first.isEmpty else { return .failure(ParseError(description: "usage: /\(name) EVENT [ARG ...]")) }
            return arguments(afterFirst).map { values in
                name == "emit" ? .emit(event: String(first), arguments: values) : .call(event: String(first), arguments: values)
            }
        case "ack":
            guard let id = Int(first), id > 0 else { return .failure(ParseError(description: "usage: /ack N [ARG ...]")) }
            return arguments(afterFirst).map { .answer(id: id, arguments: $0) }
        case "binary":
            return parseBinary(event: String(first), rest: afterFirst, readFile: readFile)
        case "join":
            guard !first.isEmpty else { return .failure(ParseError(description: "usage: /join NAMESPACE [AUTH]")) }
            let namespace = first.hasPrefix("/") ? String(first) : "/" + first
            if afterFirst.isEmpty { return .success(.join(namespace: namespace, auth: nil)) }
            return authObject(afterFirst).map { .join(namespace: namespace, auth: $0) }
        case "leave":
            return .success(.leave(namespace: first.isEmpty ? nil : (first.hasPrefix("/") ? String(first) : "/" + first)))
        case "disconnect", "close", "quit":
            return .success(.disconnect)
        case "help", "?":
            return .success(.help)
        default:
            return .failure(ParseError(description: "unknown command /\(name) (type /help for the list)"))
        }
    }

    /// `--auth` and `/join`'s auth: a JSON object.
    static func authObject(_ text: String) -> Result<SocketIOValue, ParseError> {
        do {
            let value = try SocketIOJSON.parse(text)
            guard value.objectValue != nil else {
                return .failure(ParseError(description: "the auth must be a JSON object, such as {\"token\":\"abc\"}"))
            }
            return .success(binaries(in: value))
        } catch {
            return .failure(ParseError(description: "the auth is not valid JSON: \(error.message)"))
        }
    }

    /// Space-separated arguments: each a JSON value, or a bare word taken as a string.
    static func arguments(_ text: String) -> Result<[SocketIOValue], ParseError> {
        var values: [SocketIOValue] = []
        for token in tokens(text) {
            do {
                values.append(binaries(in: try SocketIOJSON.parse(token)))
            } catch {
                if let first = token.first, "{[\"".contains(first) {
                    return .failure(ParseError(
                        description: "argument \(values.count + 1) is not valid JSON: \(error.message)"))
                }
                values.append(.string(token))
            }
        }
        return .success(values)
    }

    /// Splits at whitespace outside JSON strings, objects and arrays.
    static func tokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        var depth = 0
        var inString = false
        var escaped = false
        for character in text {
            if inString {
                current.append(character)
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inString = false
                }
                continue
            }
            switch character {
            case "\"": inString = true
            case "{", "[": depth += 1
            case "}", "]": depth = max(0, depth - 1)
            case _ where character.isWhitespace && depth == 0:
                if !current.isEmpty { tokens.append(current) }
                current = ""
                continue
            default: break
            }
            current.append(character)
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    /// `{"$binary":"hex"}` objects become bytes.
    static func binaries(in value: SocketIOValue) -> SocketIOValue {
        switch value {
        case .array(let elements): return .array(elements.map(binaries))
        case .object(let members):
            if members.count == 1, let hex = members["$binary"]?.stringValue, let bytes = HexDump.parse(hex) {
                return .binary(ByteBuffer(bytes: bytes))
            }
            return .object(SocketIOObject(members.map { ($0.0, binaries(in: $0.1)) }))
        default: return value
        }
    }

    private static func parseBinary(event: String, rest: String, readFile: (String) -> [UInt8]?)
        -> Result<SocketIOInput, ParseError>
    {
        let line = "/binary \(rest)"
        guard !event.isEmpty, !rest.isEmpty else {
            return .failure(ParseError(description: "usage: /binary EVENT hex DIGITS | base64 TEXT | file PATH"))
        }
        // The WebSocket mode's /binary reads the same three forms.
        switch SlashCommand.parse(line, readFile: readFile) {
        case .success(.binary(let bytes))?:
            return .success(.emit(event: event, arguments: [.binary(ByteBuffer(bytes: bytes))]))
        case .failure(let error)?:
            return .failure(ParseError(description: error.description.replacingOccurrences(
                of: "/binary hex", with: "/binary EVENT hex")))
        default:
            return .failure(ParseError(description: "usage: /binary EVENT hex DIGITS | base64 TEXT | file PATH"))
        }
    }

    /// A stable one-line form, printed by `canal internals io-line` for the tests.
    var summary: String {
        func list(_ values: [SocketIOValue]) -> String { SocketIOFormat.arguments(values).text }
        switch self {
        case .message(let text): return "message \(DisplayText.quoted(text))"
        case .emit(let event, let arguments): return "emit \(DisplayText.quoted(event)) \(list(arguments))"
        case .call(let event, let arguments): return "call \(DisplayText.quoted(event)) \(list(arguments))"
        case .answer(let id, let arguments): return "ack \(id) \(list(arguments))"
        case .join(let namespace, let auth): return "join \(namespace) \(auth.map { SocketIOJSON.string($0) } ?? "-")"
        case .leave(let namespace): return "leave \(namespace ?? "-")"
        case .disconnect: return "disconnect"
        case .help: return "help"
        }
    }
}
