/// Limits and behaviour of one WebSocket endpoint, shared by client and server.
///
/// The defaults are safe for a server facing the internet: a peer cannot make the
/// endpoint buffer more than `maxMessageSize` bytes per connection.
public struct WebSocketConfiguration: Sendable, Hashable {
    /// The largest frame payload accepted, in bytes. A larger frame fails the
    /// connection with 1009 before its payload is buffered. Default 1 MiB.
    public var maxFrameSize: Int

    /// The largest message accepted, in bytes, after reassembly of fragments (and, with
    /// compression, after inflation). A larger message fails the connection with 1009.
    /// Default 1 MiB, as in `ws` and python `websockets`.
    public var maxMessageSize: Int

    /// The most fragments one message may have. Tiny fragments cost far more than
    /// their payload, so this bounds the work a peer can cause. Default 1,024.
    public var maxFragmentCount: Int

    /// Frames sent by `send` are cut into fragments of at most this many bytes, so that
    /// a huge message does not hold up pings and pongs. `nil` sends each message as one
    /// frame. Default `nil`.
    public var outboundFragmentSize: Int?

    /// How much a driver lets the application queue for a peer that stopped reading, in
    /// bytes, counted from the moment the transport is full (its send buffer and the
    /// driver's high-water mark, 64 KiB in NIO). Past it the connection is dropped as a slow
    /// reader (`.slowReader`, 1008), so that one peer cannot make the server hold memory
    /// without bound. The driver also stops reading from a peer while it cannot write to it,
    /// which is enough for handlers that only answer what they receive. `nil` removes the
    /// bound. Default 16 MiB.
    public var maxUnreadOutput: Int?

    /// Answer pings with pongs automatically (RFC 6455 §5.5.2). Default true.
    public var autoReplyToPings: Bool

    /// Whether async handlers see `.ping` and `.pong` events in their inbound sequence.
    /// Off by default: unread control events count against the inbound buffer and could
    /// stall the peer's keepalive for a handler that only writes. Event-loop handlers
    /// always see them. Turn it on for tools that show pings, like `canal -P`.
    public var exposesPingPong: Bool

    public init(
        maxFrameSize: Int = 1 << 20,
        maxMessageSize: Int = 1 << 20,
        maxFragmentCount: Int = 1024,
        outboundFragmentSize: Int? = nil,
        maxUnreadOutput: Int? = 16 << 20,
        autoReplyToPings: Bool = true,
        exposesPingPong: Bool = false
    ) {
        self.maxFrameSize = maxFrameSize
        self.maxMessageSize = maxMessageSize
        self.maxFragmentCount = maxFragmentCount
        self.outboundFragmentSize = outboundFragmentSize
        self.maxUnreadOutput = maxUnreadOutput
        self.autoReplyToPings = autoReplyToPings
        self.exposesPingPong = exposesPingPong
    }

    /// Limits large enough for the Autobahn suite (16 MiB messages in up to 65,536
    /// fragments). Meant for conformance runs, not for the open internet.
    public static let conformance = WebSocketConfiguration(
        maxFrameSize: 16 << 20,
        maxMessageSize: 16 << 20,
        maxFragmentCount: 1 << 17
    )
}
