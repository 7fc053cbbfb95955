import Crypto
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The opening handshake's shared pieces (RFC 6455 §4).
public enum WebSocketHandshake {
    /// RFC 6455 §1.3: appended to the client's key before hashing.
    public static let magicGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The only protocol version RFC 6455 defines.
    public static let version = "13"

    /// `Sec-WebSocket-Accept` for a client key: base64(SHA-1(key + GUID)).
    public static func acceptValue(forKey key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + magicGUID).utf8))
        return Data(digest).base64EncodedString()
    }

    /// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64-encoded (RFC 6455 §4.1).
    public static func makeKey<G: RandomNumberGenerator>(using generator: inout G) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in bytes.indices { bytes[index] = UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
    }

    public static func makeKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return makeKey(using: &generator)
    }

    /// True when `key` is base64 for exactly 16 bytes.
    static func isValidKey(_ key: String) -> Bool {
        guard key.utf8.count == 24, let data = Data(base64Encoded: key) else { return false }
        return data.count == 16
    }

    /// The comma-separated tokens of every `name` header, trimmed, empty ones dropped.
    static func tokens(_ headers: HTTPHeaders, _ name: String) -> [String] {
        headers[name].flatMap { $0.split(separator: ",") }.map { trim($0) }.filter { !$0.isEmpty }
    }

    static func trim<S: StringProtocol>(_ text: S) -> String {
        String(text[trimmedRange(text.utf8)])
    }

    /// `text` without the spaces and tabs around it. Both are ASCII, so the bounds stay on
    /// character boundaries.
    private static func trimmedRange<View: Collection<UInt8>>(_ text: View) -> Range<View.Index> {
        let isBlank = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        guard let start = text.firstIndex(where: { !isBlank($0) }) else { return text.endIndex..<text.endIndex }
        var end = start
        var index = start
        while index < text.endIndex {
            let byte = text[index]
            text.formIndex(after: &index)
            if !isBlank(byte) { end = index }
        }
        return start..<end
    }

    /// True if a `name` header lists `token` (lowercase ASCII), compared ignoring ASCII case
    /// as RFC 9110 §5.6.2 asks, without building the list.
    static func containsToken(_ headers: HTTPHeaders, _ name: String, _ token: String) -> Bool {
        headers[name].contains { value in
            value.utf8.split(separator: UInt8(ascii: ",")).contains { item in
                item[trimmedRange(item)].elementsEqual(token.utf8) { byte, lower in
                    byte == lower || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) && byte | 0x20 == lower
                }
            }
        }
    }
}

/// One extension offered or accepted in `Sec-WebSocket-Extensions` (RFC 6455 §9.1),
/// such as `permessage-deflate; client_max_window_bits`.
public struct WebSocketExtensionOffer: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    /// Parameters in order; a parameter without a value has `nil`.
    public var parameters: [Parameter]

    public struct Parameter: Sendable, Hashable {
        public var name: String
        public var value: String?

        public init(name: String, value: String? = nil) {
            self.name = name
            self.value = value
        }
    }

    public init(name: String, parameters: [Parameter] = []) {
        self.name = name
        self.parameters = parameters
    }

    /// Parses every `Sec-WebSocket-Extensions` header. Returns nil when the syntax is broken.
    public static func parse(_ headers: HTTPHeaders) -> [WebSocketExtensionOffer]? {
        var offers: [WebSocketExtensionOffer] = []
        for value in headers["Sec-WebSocket-Extensions"] {
            for item in value.split(separator: ",", omittingEmptySubsequences: true) {
                let parts = item.split(separator: ";", omittingEmptySubsequences: false).map {
                    WebSocketHandshake.trim($0)
                }
                // RFC 7230 §7: empty list elements are ignored.
                if parts.count == 1, parts[0].isEmpty { continue }
                guard let name = parts.first, isToken(name) else { return nil }
                var offer = WebSocketExtensionOffer(name: name)
                for part in parts.dropFirst() {
                    let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { WebSocketHandshake.trim($0) }
                    guard let key = pair.first, isToken(key) else { return nil }
                    var parameterValue: String?
                    if pair.count == 2 {
                        var raw = pair[1]
                        // RFC 6455 §9.1: a value may be a quoted string holding a token.
                        if raw.count >= 2, raw.hasPrefix("\""), raw.hasSuffix("\"") {
                            raw = String(raw.dropFirst().dropLast())
                        }
                        guard isToken(raw) else { return nil }
                        parameterValue = raw
                    }
                    offer.parameters.append(Parameter(name: key, value: parameterValue))
                }
                offers.append(offer)
            }
        }
        return offers
    }

    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    /// The header form: `name; key=value; flag`.
    public var description: String {
        var text = name
        for parameter in parameters {
            text += "; \(parameter.name)"
            if let value = parameter.value { text += "=\(value)" }
        }
        return text
    }
}
