import CanalWebSocketCore

/// The parameters of one permessage-deflate offer or response (RFC 7692 §7.1).
public struct PerMessageDeflateParameters: Sendable, Hashable {
    /// RFC 7692 §7.1.1.1: the server resets its compression context after each message.
    public var serverNoContextTakeover = false
    /// RFC 7692 §7.1.1.2: the client resets its compression context after each message.
    public var clientNoContextTakeover = false
    /// RFC 7692 §7.1.2.1: the largest window the server compresses with.
    public var serverMaxWindowBits: Int?
    /// RFC 7692 §7.1.2.2: in an offer, that the client supports the parameter (with or
    /// without a value); in a response, always with `clientMaxWindowBits`.
    public var clientMaxWindowBitsPresent = false
    /// The value of `client_max_window_bits`, if it had one.
    public var clientMaxWindowBits: Int?

    public init() {}

    /// The extension token.
    public static let name = "permessage-deflate"

    /// Why an element could not be read.
    enum ParseError: Error, Equatable {
        case unknownParameter(String)
        case duplicateParameter(String)
        case invalidValue(String)
    }

    /// Reads the parameters of one `permessage-deflate` element. `isResponse` applies the
    /// stricter rules of a server's response (`client_max_window_bits` needs a value).
    static func parse(_ element: WebSocketExtensionOffer, isResponse: Bool) -> Result<Self, ParseError> {
        var parameters = PerMessageDeflateParameters()
        var seen = Set<String>()
        for parameter in element.parameters {
            let name = parameter.name.lowercased()
            // RFC 7692 §7.1: an element with the same parameter twice is invalid.
            guard seen.insert(name).inserted else { return .failure(.duplicateParameter(name)) }
            switch name {
            case "server_no_context_takeover":
                guard parameter.value == nil else { return .failure(.invalidValue(name)) }
                parameters.serverNoContextTakeover = true
            case "client_no_context_takeover":
                guard parameter.value == nil else { return .failure(.invalidValue(name)) }
                parameters.clientNoContextTakeover = true
            case "server_max_window_bits":
                guard let bits = parameter.value.flatMap(windowBits) else { return .failure(.invalidValue(name)) }
                parameters.serverMaxWindowBits = bits
            case "client_max_window_bits":
                parameters.clientMaxWindowBitsPresent = true
                if let value = parameter.value {
                    guard let bits = windowBits(value) else { return .failure(.invalidValue(name)) }
                    parameters.clientMaxWindowBits = bits
                } else if isResponse {
                    // RFC 7692 §7.1.2.2: a response's client_max_window_bits carries a value.
                    return .failure(.invalidValue(name))
                }
            default:
                return .failure(.unknownParameter(parameter.name))
            }
        }
        return .success(parameters)
    }

    /// RFC 7692 §7.1.2.1: a decimal integer from 8 to 15, without leading zeros.
    static func windowBits(_ text: String) -> Int? {
        guard let first = text.utf8.first, first != UInt8(ascii: "0"),
            text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let value = Int(text), (8...15).contains(value)
        else { return nil }
        return value
    }

    /// The element for `Sec-WebSocket-Extensions`.
    public var element: WebSocketExtensionOffer {
        var element = WebSocketExtensionOffer(name: Self.name)
        if serverNoContextTakeover {
            element.parameters.append(.init(name: "server_no_context_takeover"))
        }
        if clientNoContextTakeover {
            element.parameters.append(.init(name: "client_no_context_takeover"))
        }
        if let serverMaxWindowBits {
            element.parameters.append(.init(name: "server_max_window_bits", value: String(serverMaxWindowBits)))
        }
        if clientMaxWindowBitsPresent || clientMaxWindowBits != nil {
            element.parameters.append(
                .init(name: "client_max_window_bits", value: clientMaxWindowBits.map(String.init))
            )
        }
        return element
    }
}
