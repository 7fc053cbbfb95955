import CanalSocketIOClient

/// Turns a Socket.IO client error into lines a person can act on, with the hints the
/// WebSocket mode gives for the same causes.
enum SocketIOErrorReport {
    static func lines(for error: SocketIOClientError, url: String) -> [String] {
        switch error.kind {
        case .refused:
            var lines = ["the server refused the connection: \(error.message)"]
            if let data = error.data { lines.append("  data: \(SocketIOFormat.arguments([data]).text)") }
            return lines
        case .connectionFailed, .timeout:
            var lines = [error.message]
            if error.message.contains("connection refused") {
                lines[0] += " (is the server running?)"
            } else if error.message.contains("certificate is not trusted") {
                lines.append("  use --ca FILE to trust a private CA, or -n to skip certificate checks (for testing only)")
            } else if error.message.contains("does not speak TLS") {
                lines.append("  try http:// instead of https://")
            } else if error.message.contains("HTTP 404") {
                lines.append("  is Socket.IO served at another path? (--path, default /socket.io/)")
            }
            return lines
        default:
            return [error.description]
        }
    }
}
