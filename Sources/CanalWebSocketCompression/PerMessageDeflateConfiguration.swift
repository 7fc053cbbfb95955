/// How permessage-deflate (RFC 7692) compresses, and what it asks of the peer.
///
/// Memory is the main cost. zlib's compressor needs about `2^(windowBits+2) +
/// 2^(memoryLevel+9)` bytes (256 KiB for 15 and 8), the decompressor `2^windowBits` plus
/// about 7 KiB. Canal allocates neither before a connection compresses or receives its first
/// compressed message, and a side without context takeover keeps nothing between
/// messages: its zlib streams come from a small per-process pool and go back to it after
/// each message. A peer that keeps its context makes the receiving side keep the peer's
/// window: for windows of 4 KiB (12 bits) or less Canal keeps only the window's bytes and
/// returns the zlib stream to the pool, priming a pooled stream with them when the next
/// message arrives; for larger windows it keeps the whole stream.
///
/// The last column is a server's memory per connection after each of 2,000 connections
/// exchanged one 4 KB text message with Node's `ws` client, which offers
/// `client_max_window_bits` as browsers do (`bench/deflate/run-deflate.sh`, one event-loop
/// thread, Linux x86-64, zlib 1.2.13). It includes the connection itself: 8.7 KB with
/// compression off; Node's `ws` server with compression on holds 255 KB.
///
/// | preset | our window, memory level, zlib level | context kept (ours / peer's) | held per idle connection | measured |
/// | --- | --- | --- | --- | --- |
/// | `.lowMemory` | 12, 4, 1 | no / no (asks the peer) | nothing | 7.1 KB |
/// | `.balanced` (default) | 15, 8, 6 | no / yes, in at most 12 bits (asked for), else no | the peer's last 4 KiB once it sent a compressed message | 11.2 KB |
/// | `.maximumCompression` | 15, 9, 9 | yes / yes | about 300 KiB once both sides compressed | 200 KB |
///
/// `.balanced` lets a client keep its context because that is where small messages gain:
/// 1,000 chat-like JSON messages of about 115 bytes compress 6.8 times with the client's
/// context in a 12-bit window, 7.1 times in a 15-bit one, and 1.3 times without it
/// (`bench/deflate/ratio.py`). Keeping a 15-bit window took 38.8 KB per connection in the
/// benchmark above, and a 12-bit one in a zlib stream 18.3 KB: hence the bound, and the
/// window kept as bytes.
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
    /// in a client's offer), so that nothing is kept to decompress. A server lets a client
    /// keep it only within `maxKeptPeerWindowBits`. Default true.
    public var peerContextTakeover: Bool

    /// The largest window the peer may compress with, 8 to 15 bits. Below 15 Canal asks for
    /// it: a server in `client_max_window_bits` when the client offered that parameter, a
    /// client in `server_max_window_bits` (a server may then decline compression).
    /// Default 15.
    public var peerMaxWindowBits: Int

    /// Servers only: the largest window of a client's that the server keeps between
    /// messages, 8 to 15 bits, or nil for no bound. A client that keeps its context makes
    /// the server keep its window (`2^bits` bytes) for the whole connection, 32 KiB at the
    /// usual 15 bits. So when `peerContextTakeover` lets the client keep its context, a
    /// server with a bound asks a client that offered `client_max_window_bits` (browsers,
    /// Node's `ws` and python's `websockets` do) for at most this window (RFC 7692
    /// §7.1.2.2), and asks one that did not, and so cannot be asked for a window, not to
    /// keep its context at all (`client_no_context_takeover`, which §7.1.1.2 lets a server
    /// add to any response). A client that keeps no context is not asked for a smaller
    /// window: its window lives only while a message arrives, in a pooled stream.
    /// A client's offer does not use it. Default 12.
    public var maxKeptPeerWindowBits: Int?

    public init(
        threshold: Int = 128,
        compressionLevel: Int = 6,
        memoryLevel: Int = 8,
        maxWindowBits: Int = 15,
        contextTakeover: Bool = false,
        peerContextTakeover: Bool = true,
        peerMaxWindowBits: Int = 15,
        maxKeptPeerWindowBits: Int? = 12
    ) {
        self.threshold = threshold
        self.compressionLevel = compressionLevel
        self.memoryLevel = memoryLevel
        self.maxWindowBits = maxWindowBits
        self.contextTakeover = contextTakeover
        self.peerContextTakeover = peerContextTakeover
        self.peerMaxWindowBits = peerMaxWindowBits
        self.maxKeptPeerWindowBits = maxKeptPeerWindowBits
    }

    /// The default: our side keeps nothing between messages (so broadcasts can be
    /// compressed once); the peer may keep its context, within a 12-bit window when it is a
    /// client (`maxKeptPeerWindowBits`), as python's `websockets` asks by default.
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
        peerMaxWindowBits: 15,
        maxKeptPeerWindowBits: nil
    )

    /// For the Autobahn suite: `.balanced` with every message compressed. Its client offer
    /// carries `client_no_context_takeover`, which the suite's cases 13.2, 13.5 and 13.6
    /// expect; the server answers every offer of cases 12.* and 13.*. The suite's offers
    /// all carry `client_no_context_takeover`, which the server takes up, so its bound on a
    /// client's kept window (`maxKeptPeerWindowBits`) never comes into play there: it is
    /// covered by the unit tests and by the interop tests with python's `websockets` and
    /// Chromium, whose offers have only `client_max_window_bits`.
    public static let conformance = PerMessageDeflateConfiguration(threshold: 0)

    // The settings clamped to what zlib and RFC 7692 allow.
    var clampedWindowBits: Int { min(max(maxWindowBits, 8), 15) }
    var clampedPeerWindowBits: Int { min(max(peerMaxWindowBits, 8), 15) }
    var clampedKeptPeerWindowBits: Int? { maxKeptPeerWindowBits.map { min(max($0, 8), 15) } }
    var clampedMemoryLevel: Int32 { Int32(min(max(memoryLevel, 1), 9)) }
    var clampedCompressionLevel: Int32 { Int32(min(max(compressionLevel, 0), 9)) }
}
