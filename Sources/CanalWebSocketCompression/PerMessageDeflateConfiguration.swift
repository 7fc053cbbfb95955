/// How permessage-deflate (RFC 7692) compresses, and what it asks of the peer.
///
/// Memory is the main cost. zlib's compressor needs about `2^(windowBits+2) +
/// 2^(memoryLevel+9)` bytes (256 KiB for 15 and 8), the decompressor `2^windowBits` plus
/// about 7 KiB. Canal allocates neither before a connection compresses or receives its first
/// compressed message, and a side without context takeover keeps nothing between
/// messages: its zlib streams come from a small per-process pool and go back to it after
/// each message. So with the presets:
///
/// | preset | our window, memory level, zlib level | context kept (ours / peer's) | held per idle connection |
/// | --- | --- | --- | --- |
/// | `.lowMemory` | 12, 4, 1 | no / no (asks the peer) | nothing |
/// | `.balanced` (default) | 15, 8, 6 | no / yes | the peer's window once it sent a compressed message: up to 32 KiB + 7 KiB |
/// | `.maximumCompression` | 15, 9, 9 | yes / yes | about 300 KiB once both sides compressed |
///
/// A sending side without context takeover also lets a server compress a broadcast once
/// for all its receivers (`WebSocketPreEncodedMessage`).
public struct PerMessageDeflateConfiguration: Sendable, Hashable {
    /// Messages shorter than this many bytes go uncompressed, unless the message asks
    /// otherwise (`WebSocketMessage.compression`). Deflate's block headers make short
    /// messages without context takeover barely smaller, for the CPU it costs.
    /// Default 128. Conformance runs use 0: the Autobahn suite expects every message
    /// compressed.
    public var threshold: Int

    /// zlib's compression level, 0 (store) to 9 (smallest, slowest). Default 6.
    public var compressionLevel: Int

    /// zlib's memory level, 1 to 9: the size of the compressor's hash tables. Default 8.
    public var memoryLevel: Int

    /// The LZ77 window our compressor uses, 8 to 15 bits. Below 15 it is announced to the
    /// peer (`server_max_window_bits` from a server, a hint in `client_max_window_bits` from
    /// a client). zlib cannot make raw deflate streams with a window of 8 bits: where 8 is
    /// negotiated Canal compresses with 9, whose longest match distance (250 bytes) still
    /// fits the peer's 256-byte window, as zlib-based peers do. Default 15.
    public var maxWindowBits: Int

    /// Keep our compressor's window from one message to the next: better compression of
    /// similar messages, at the cost of the compressor's memory for the whole connection.
    /// When false, a server announces `server_no_context_takeover` and a client
    /// `client_no_context_takeover`. Default false.
    public var contextTakeover: Bool

    /// Let the peer keep its window between messages. When false, Canal asks it not to
    /// (`client_no_context_takeover` in a server's response, `server_no_context_takeover`
    /// in a client's offer), so that nothing is kept to decompress. Default true.
    public var peerContextTakeover: Bool

    /// The largest window the peer may compress with, 8 to 15 bits. Below 15 Canal asks for
    /// it: a server in `client_max_window_bits` when the client offered that parameter, a
    /// client in `server_max_window_bits` (a server may then decline compression).
    /// Default 15.
    public var peerMaxWindowBits: Int

    public init(
        threshold: Int = 128,
        compressionLevel: Int = 6,
        memoryLevel: Int = 8,
        maxWindowBits: Int = 15,
        contextTakeover: Bool = false,
        peerContextTakeover: Bool = true,
        peerMaxWindowBits: Int = 15
    ) {
        self.threshold = threshold
        self.compressionLevel = compressionLevel
        self.memoryLevel = memoryLevel
        self.maxWindowBits = maxWindowBits
        self.contextTakeover = contextTakeover
        self.peerContextTakeover = peerContextTakeover
        self.peerMaxWindowBits = peerMaxWindowBits
    }

    /// The default: our side keeps nothing between messages (so broadcasts can be
    /// compressed once), the peer may keep its context.
    public static let balanced = PerMessageDeflateConfiguration()

    /// Nothing kept between messages on either side, smaller windows, fastest level:
    /// for many connections on little memory.
    public static let lowMemory = PerMessageDeflateConfiguration(
        threshold: 128,
        compressionLevel: 1,
        memoryLevel: 4,
        maxWindowBits: 12,
        contextTakeover: false,
        peerContextTakeover: false,
        peerMaxWindowBits: 12
    )

    /// Both sides keep their context, with the largest window and tables: the best ratio
    /// for streams of similar messages, about 300 KiB per busy connection.
    public static let maximumCompression = PerMessageDeflateConfiguration(
        threshold: 64,
        compressionLevel: 9,
        memoryLevel: 9,
        maxWindowBits: 15,
        contextTakeover: true,
        peerContextTakeover: true,
        peerMaxWindowBits: 15
    )

    /// For the Autobahn suite: `.balanced` with every message compressed. Its client offer
    /// carries `client_no_context_takeover`, which the suite's cases 13.2, 13.5 and 13.6
    /// expect; the server answers every offer of cases 12.* and 13.*.
    public static let conformance = PerMessageDeflateConfiguration(threshold: 0)

    // The settings clamped to what zlib and RFC 7692 allow.
    var clampedWindowBits: Int { min(max(maxWindowBits, 8), 15) }
    var clampedPeerWindowBits: Int { min(max(peerMaxWindowBits, 8), 15) }
    var clampedMemoryLevel: Int32 { Int32(min(max(memoryLevel, 1), 9)) }
    var clampedCompressionLevel: Int32 { Int32(min(max(compressionLevel, 0), 9)) }
}
