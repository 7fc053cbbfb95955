import CanalWebSocket
import Foundation

/// Turns a failed connection into lines a person can act on.
enum ClientErrorReport {
    /// - Parameters:
    ///   - url: the URL being opened (after redirects).
    ///   - followsRedirects: whether `-L` was given, to suggest it when it would help.
    static func lines(for error: WebSocketClientError, url: WebSocketURL?, followsRedirects: Bool) -> [String] {
        let place = url.map { "\($0.host):\($0.port)" } ?? "the server"
        switch error.kind {
        case .invalidURL:
            return [error.description]
        case .connectionFailed:
            return [connectionFailure(error.description, place: place)]
        case .handshakeTimedOut:
            return ["\(place) accepted the connection but did not complete the WebSocket handshake in time"]
        case .tlsUnavailable:
            return ["wss:// (TLS) is not available in this build of canal: \(error.description)"]
        case .handshakeFailed:
            if let status = error.status {
                return refusal(
                    error, status: status.code, phrase: status.reasonPhrase, followsRedirects: followsRedirects)
            }
            if looksLikeTLS(error.description) {
                return tlsFailure(error.description, place: place)
            }
            return ["WebSocket handshake with \(place) failed: \(error.description)"]
        }
    }

    /// A TCP-level failure (refused, DNS, time-out, unreachable) in words; shared with
    /// `canal sse`.
    static func connectionFailure(_ description: String, place: String) -> String {
        if looksLikeTLS(description) { return tlsFailure(description, place: place).joined(separator: "\n") }
        if description.contains("errno: 111") || description.contains("Connection refused") {
            return "could not connect to \(place): connection refused (is the server running?)"
        }
        if description.contains("DNS error") {
            return "could not connect to \(place): the host name could not be resolved"
        }
        if description.contains("connectTimeout") || description.contains("errno: 110") {
            return "could not connect to \(place): timed out"
        }
        if description.contains("errno: 101") || description.contains("errno: 113") {
            return "could not connect to \(place): the network or host is unreachable"
        }
        return description
    }

    private static func refusal(
        _ error: WebSocketClientError,
        status: UInt,
        phrase: String,
        followsRedirects: Bool
    ) -> [String] {
        var lines = ["the server refused the WebSocket upgrade: HTTP \(status) \(phrase)"]
        if Redirect.isRedirect(status), let location = error.headers?.first(name: "Location") {
            lines[0] += followsRedirects ? " (too many redirects)" : " to \(location) (use -L to follow redirects)"
        }
        if status == 401 { lines[0] += " (try --auth user:password or -H \"Authorization: ...\")" }
        if let excerpt = error.bodyExcerpt.map(summarize), !excerpt.isEmpty {
            lines.append("  the response said: \(excerpt)")
        }
        return lines
    }

    private static func tlsFailure(_ description: String, place: String) -> [String] {
        if description.contains("could not set up TLS") {
            // A bad --ca, --cert or --key file, or a wrong passphrase.
            if description.contains("NO_CERTIFICATE_OR_CRL_FOUND") {
                return ["could not set up TLS: the --ca file holds no PEM certificate"]
            }
            if description.contains("BAD_DECRYPT") || description.localizedCaseInsensitiveContains("passphrase") {
                return ["could not set up TLS: the --key file could not be decrypted (wrong --passphrase?)"]
            }
            if description.contains("NO_START_LINE") {
                return ["could not set up TLS: a --cert or --key file is not in PEM format"]
            }
            return [description]
        }
        let hint = "  use --ca FILE to trust a private CA, or -n to skip certificate checks (for testing only)"
        if description.contains("CERTIFICATE_VERIFY_FAILED") {
            return [
                "TLS handshake with \(place) failed: its certificate is not trusted (self-signed, expired or from an unknown CA)",
                hint,
            ]
        }
        if description.localizedCaseInsensitiveContains("hostname") {
            return [
                "TLS handshake with \(place) failed: its certificate is for another host name",
                "  connect with a name the certificate lists, or use -n to skip certificate checks (for testing only)",
            ]
        }
        if description.contains("WRONG_VERSION_NUMBER") || description.contains("PACKET_LENGTH_TOO_LONG")
            || description.contains("EOF during handshake")
        {
            return ["TLS handshake with \(place) failed: the server does not speak TLS on this port (try ws://)"]
        }
        return ["TLS handshake with \(place) failed: \(description)", hint]
    }

    private static func looksLikeTLS(_ text: String) -> Bool {
        ["NIOSSL", "certificate", "TLS", "SSL", "BoringSSL"].contains { text.contains($0) }
    }

    /// The body on one line, at most 200 characters.
    private static func summarize(_ body: String) -> String {
        let flat = body.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return flat.count > 200 ? String(flat.prefix(200)) + "..." : flat
    }
}
