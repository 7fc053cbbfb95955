import CanalWebSocket
import NIOCore

/// Everything an `HTTPServer` can be tuned with. The defaults suit a public server.
///
/// Each limit answers with its own status and then closes the connection, since the rest
/// of an oversized request is never read:
///
/// | limit | default | status |
/// | --- | --- | --- |
/// | `maxRequestLineLength` | 8 KiB | 414 URI Too Long |
/// | `maxHeaderCount` | 100 | 431 Request Header Fields Too Large |
/// | `maxHeaderSize` | 16 KiB | 431 Request Header Fields Too Large |
/// | `maxBodySize` | 1 MiB | 413 Content Too Large |
/// | `requestHeadTimeout` | 10 s | connection closed |
public struct HTTPServerConfiguration: Sendable {
    /// The longest request line (`GET /path?query HTTP/1.1`), in bytes.
    public var maxRequestLineLength: Int
    /// The most header fields one request may carry.
    public var maxHeaderCount: Int
    /// The most bytes of header names and values one request may carry.
    public var maxHeaderSize: Int
    /// The largest request body, in bytes, whether announced by `Content-Length` or sent
    /// chunked. Route handlers receive bodies whole, so this also bounds their memory.
    public var maxBodySize: Int
    /// A connection must deliver a complete request head within this time after it opens
    /// or after the previous response, or it is closed. This cuts clients that send their
    /// headers a byte at a time, and bounds idle keep-alive connections. A request body
    /// may not pause for longer than this either.
    public var requestHeadTimeout: TimeAmount
    /// How long `shutdown()` lets in-flight responses and WebSocket closing handshakes run
    /// before closing what is left.
    public var shutdownTimeout: TimeAmount
    /// The listen backlog.
    public var backlog: Int32
    /// `SO_SNDBUF` of each connection, in bytes; nil leaves the kernel's automatic sizing.
    /// A small value makes a client that stops reading meet the event-stream slow-client
    /// policy sooner (the kernel may otherwise buffer megabytes for it first).
    public var socketSendBufferSize: Int?
    /// CORS headers for route responses and preflight answers; nil sends none.
    public var cors: HTTPCORSConfiguration?
    /// Limits and timeouts of the WebSocket connections upgraded on this server.
    public var webSocket: WebSocketServerConfiguration
    /// Buffering, slow-client policy and heartbeats of server-sent event streams.
    public var eventStream: EventStreamConfiguration

    public init(
        maxRequestLineLength: Int = 8 * 1024,
        maxHeaderCount: Int = 100,
        maxHeaderSize: Int = 16 * 1024,
        maxBodySize: Int = 1024 * 1024,
        requestHeadTimeout: TimeAmount = .seconds(10),
        shutdownTimeout: TimeAmount = .seconds(10),
        backlog: Int32 = 1024,
        cors: HTTPCORSConfiguration? = nil,
        webSocket: WebSocketServerConfiguration = WebSocketServerConfiguration(),
        eventStream: EventStreamConfiguration = EventStreamConfiguration()
    ) {
        self.maxRequestLineLength = maxRequestLineLength
        self.maxHeaderCount = maxHeaderCount
        self.maxHeaderSize = maxHeaderSize
        self.maxBodySize = maxBodySize
        self.requestHeadTimeout = requestHeadTimeout
        self.shutdownTimeout = shutdownTimeout
        self.backlog = backlog
        self.socketSendBufferSize = nil
        self.cors = cors
        self.webSocket = webSocket
        self.eventStream = eventStream
    }
}
