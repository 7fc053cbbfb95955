import AsyncHTTPClient
import CanalWebSocket

/// Transport failures as sentences: what failed and where, without library internals where
/// a plainer word exists (`connection refused`, `timed out`, `HTTP 400 Bad Request: ...`).
enum TransportErrorText {
    static func describe(_ error: any Error, url: SocketIOClientURL) -> String {
        let place = "\(url.host):\(url.port)"
        if let error = error as? PollingError { return "the server answered \(error)" }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "could not connect to \(place): timed out"
            case .deadlineExceeded, .readTimeout: return "\(place) did not answer in time"
            case .remoteConnectionClosed: return "\(place) closed the connection"
            case .tlsHandshakeTimeout: return "TLS handshake with \(place) timed out"
            default: break
            }
        }
        return connectionFailure(String(describing: error), place: place)
    }

    static func describeWebSocket(_ error: any Error, url: SocketIOClientURL) -> String {
        let place = "\(url.host):\(url.port)"
        guard let error = error as? WebSocketClientError else { return connectionFailure("\(error)", place: place) }
        switch error.kind {
        case .handshakeFailed:
            if let status = error.status {
                var text = "the server refused the WebSocket: HTTP \(status.code) \(status.reasonPhrase)"
                if let body = error.bodyExcerpt?.split(whereSeparator: \.isNewline).joined(separator: " "), !body.isEmpty {
                    text += ": \(body.prefix(200))"
                }
                return text
            }
            return connectionFailure(error.description, place: place)
        case .handshakeTimedOut:
            return "\(place) did not complete the WebSocket handshake in time"
        case .connectionFailed, .invalidURL, .tlsUnavailable:
            return connectionFailure(error.description, place: place)
        }
    }

    /// Recognizes the usual causes in an error's text (the errno of a failed connect,
    /// NIOSSL's certificate errors).
    static func connectionFailure(_ text: String, place: String) -> String {
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.localizedCaseInsensitiveContains("certificate verify") {
            return "TLS handshake with \(place) failed: its certificate is not trusted"
        }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") {
            return "TLS handshake with \(place) failed: the server does not speak TLS on this port"
        }
        if text.contains("errno: 111") || text.localizedCaseInsensitiveContains("connection refused") {
            return "could not connect to \(place): connection refused"
        }
        if text.contains("errno: 110") || text.contains("connectTimeout") {
            return "could not connect to \(place): timed out"
        }
        if text.contains("errno: 101") || text.contains("errno: 113") {
            return "could not connect to \(place): the network or host is unreachable"
        }
        if text.contains("DNS") || text.contains("NIOConnectionError") && text.contains("dnsA") {
            return "could not connect to \(place): the host name could not be resolved"
        }
        if text.contains("could not connect") { return text }
        return "connection to \(place) failed: \(text)"
    }
}
