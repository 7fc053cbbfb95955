import Foundation

/// The `-H name:value` and `--auth user:password` options, checked before connecting.
enum RequestHeader {
    struct ParseError: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    /// Splits `name: value` at the first colon. The name must be an HTTP token
    /// (RFC 9110 §5.1); the value loses surrounding spaces and may not hold a line break.
    static func parse(_ text: String) -> Result<(name: String, value: String), ParseError> {
        guard let colon = text.firstIndex(of: ":") else {
            return .failure(
                ParseError(description: "header \(DisplayText.quoted(text)) has no colon (use -H \"Name: value\")"))
        }
        let name = String(text[..<colon]).trimmingCharacters(in: .whitespaces)
        let value = String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.unicodeScalars.allSatisfy(isTokenCharacter) else {
            return .failure(ParseError(description: "header name \(DisplayText.quoted(name)) is not valid"))
        }
        guard !value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
            return .failure(ParseError(description: "header value for \(name) contains a line break"))
        }
        return .success((name, value))
    }

    /// The `Authorization` value for `--auth` (RFC 7617): `Basic` and base64 of `user:password`.
    static func basicAuthorization(_ credentials: String) -> String {
        "Basic " + Data(credentials.utf8).base64EncodedString()
    }

    // RFC 9110 §5.6.2: tchar.
    private static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        guard scalar.isASCII else { return false }
        if ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) { return true }
        return "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar)
    }
}
