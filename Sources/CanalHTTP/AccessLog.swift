import CanalWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// One line per request and one per WebSocket session, at `info` level:
///
/// ```
/// 127.0.0.1:50312 "GET /test.html HTTP/1.1" 200 1234 0.41ms "Mozilla/5.0 ..."
/// 127.0.0.1:50318 "GET /echo HTTP/1.1" 101 websocket 12.03s close=1001 "Mozilla/5.0 ..."
/// ```
struct AccessLog: Sendable {
    let logger: Logger

    /// False when no line would be written: callers skip the bookkeeping.
    var isEnabled: Bool { logger.logLevel <= .info }

    func request(remote: SocketAddress?, head: HTTPRequestHead, status: UInt, bytes: Int64, started: NIODeadline) {
        guard logger.logLevel <= .info else { return }
        let elapsed = Self.milliseconds(since: started)
        logger.info("\(prefix(remote, head)) \(status) \(bytes) \(elapsed)ms \(Self.agent(head))")
    }

    /// A request refused before it was complete (limits, parse errors); `head` is nil when
    /// not even the head could be read.
    func refused(remote: SocketAddress?, head: HTTPRequestHead?, status: UInt, bytes: Int64, started: NIODeadline) {
        guard let head else {
            guard logger.logLevel <= .info else { return }
            logger.info("\(Self.address(remote)) \"-\" \(status) \(bytes) \(Self.milliseconds(since: started))ms \"-\"")
            return
        }
        request(remote: remote, head: head, status: status, bytes: bytes, started: started)
    }

    func webSocketSession(
        remote: SocketAddress?,
        head: HTTPRequestHead,
        started: NIODeadline,
        closeStatus: WebSocketCloseStatus?
    ) {
        guard logger.logLevel <= .info else { return }
        let seconds = String(format: Double((NIODeadline.now() - started).nanoseconds) / 1e9)
        let close = closeStatus.map { "close=\($0.code.rawValue)\($0.wasClean ? "" : " unclean")" } ?? "closed"
        logger.info(
            "\(prefix(remote, head)) 101 websocket \(seconds)s \(close) \(Self.agent(head))"
        )
    }

    /// `127.0.0.1:50312` or `[::1]:50312`.
    static func address(_ remote: SocketAddress?) -> String {
        guard let ip = remote?.ipAddress, let port = remote?.port else { return "-" }
        return remote?.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    private func prefix(_ remote: SocketAddress?, _ head: HTTPRequestHead) -> String {
        let address = Self.address(remote)
        // The target is the client's text: escape quotes and control bytes so that a
        // request cannot forge log lines.
        return
            "\(address) \"\(head.method.rawValue) \(Self.escaped(head.uri)) HTTP/\(head.version.major).\(head.version.minor)\""
    }

    private static func agent(_ head: HTTPRequestHead) -> String {
        "\"\(escaped(head.headers.first(name: "User-Agent") ?? "-"))\""
    }

    static func escaped(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                output += "\\x" + String(scalar.value, radix: 16)
            default: output.unicodeScalars.append(scalar)
            }
        }
        if output.utf8.count > 512 { return String(output.prefix(509)) + "..." }
        return output
    }

    /// Elapsed milliseconds with two decimals, as text.
    private static func milliseconds(since start: NIODeadline) -> String {
        let nanoseconds = (NIODeadline.now() - start).nanoseconds
        let hundredths = nanoseconds / 10_000
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

extension String {
    /// Three decimals without Foundation.
    fileprivate init(format value: Double) {
        let thousandths = Int((value * 1000).rounded())
        let fraction = thousandths % 1000
        let padded = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
        self = "\(thousandths / 1000).\(padded)"
    }
}
