/// Which side of the connection an endpoint plays. It decides masking (RFC 6455 §5.1)
/// and who closes the TCP connection first (§7.1.1).
public enum WebSocketRole: Sendable, Hashable {
    case client
    case server
}
