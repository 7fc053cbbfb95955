/// The errors an Engine.IO server answers a bad request with, as the official server does:
/// a JSON body `{"code":N,"message":"..."}`, status 403 for `forbidden` and 400 otherwise.
public struct EngineError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Int, Sendable, Hashable {
        case transportUnknown = 0
        case sessionIDUnknown = 1
        case badHandshakeMethod = 2
        case badRequest = 3
        case forbidden = 4
        case unsupportedProtocolVersion = 5

        public var message: String {
            switch self {
            case .transportUnknown: return "Transport unknown"
            case .sessionIDUnknown: return "Session ID unknown"
            case .badHandshakeMethod: return "Bad handshake method"
            case .badRequest: return "Bad request"
            case .forbidden: return "Forbidden"
            case .unsupportedProtocolVersion: return "Unsupported protocol version"
            }
        }
    }

    public var code: Code
    /// The message sent; the code's own unless an `allowRequest` hook gave one.
    public var message: String

    public init(_ code: Code, message: String? = nil) {
        self.code = code
        self.message = message ?? code.message
    }

    /// 403 for `forbidden`, 400 for everything else.
    public var httpStatus: Int { code == .forbidden ? 403 : 400 }

    /// The JSON body of the HTTP answer.
    public var json: String {
        "{\"code\":\(code.rawValue),\"message\":\(JSONText.quoted(message))}"
    }

    public var description: String { "\(code.rawValue) \(message)" }
}

/// The few JSON texts Engine.IO writes itself.
public enum JSONText {
    /// A JSON string literal, escaped as `JSON.stringify` escapes.
    public static func quoted(_ text: String) -> String {
        var output = "\""
        output.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
        return output
    }
}
