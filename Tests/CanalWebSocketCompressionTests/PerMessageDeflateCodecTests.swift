import CompressNIO
import NIOCore
import Testing

@testable import CanalWebSocketCompression
@testable import CanalWebSocketCore

/// RFC 7692 §6-§7.2: compressed messages in and out of a `WebSocketConnection`.
@Suite("§7.2 compressing and decompressing")
struct PerMessageDeflateCodecTests {
    static let hello = Array("Hello".utf8)

    // MARK: Receiving (RFC 7692 §7.2.3 examples)

    @Test(arguments: [false, true])
    func serverReceivesRFCCompressedHelloDeliversIt(byteByByte: Bool) {
        var (server, _) = deflateEndpoint(.server)
        let input = frame(opText, hex("f2 48 cd c9 c9 07 00"), rsv1: true, masked: true)
        #expect(server.feed(input, byteByByte: byteByByte) == [.message(.text("Hello"))])
    }

    @Test(arguments: [false, true])
    func serverReceivesRFCFragmentedCompressedHelloDeliversIt(byteByByte: Bool) {
        var (server, _) = deflateEndpoint(.server)
        let input =
            frame(opText, hex("f2 48 cd"), fin: false, rsv1: true, masked: true)
            + frame(opContinuation, hex("c9 c9 07 00"), masked: true)
        #expect(server.feed(input, byteByByte: byteByByte) == [.message(.text("Hello"))])
    }

    @Test
    func clientReceivesRFCMessagesSharingTheWindowDeliversBoth() {
        var (client, _) = deflateEndpoint(.client, offer: "permessage-deflate", configuration: .maximumCompression)
        let input =
            frame(opText, hex("f2 48 cd c9 c9 07 00"), rsv1: true, masked: false)
            + frame(opText, hex("f2 00 11 00 00"), rsv1: true, masked: false)
        #expect(client.feed(input) == [.message(.text("Hello")), .message(.text("Hello"))])
    }

    @Test(arguments: [
        "00 05 00 fa ff 48 65 6c 6c 6f 00",  // §7.2.3.3: a stored block
        "f3 48 cd c9 c9 07 00 00",  // §7.2.3.4: a block with BFINAL set
        "f2 48 05 00 00 00 ff ff ca c9 c9 07 00",  // §7.2.3.5: two blocks
    ])
    func clientReceivesRFCBlockVariantsDeliversHello(_ payload: String) {
        var (client, _) = deflateEndpoint(.client, offer: "permessage-deflate")
        #expect(client.feed(frame(opText, hex(payload), rsv1: true, masked: false)) == [.message(.text("Hello"))])
    }

    @Test
    func clientReceivesRFCEmptyMessageDeliversIt() {
        // RFC 7692 §7.2.3.6: an empty message is a single 0x00 byte.
        var (client, _) = deflateEndpoint(.client, offer: "permessage-deflate")
        #expect(client.feed(frame(opBinary, [0x00], rsv1: true, masked: false)) == [.message(.binary([UInt8]()))])
    }

    @Test
    func clientReceivesMessageAfterOneThatEndedTheStreamDeliversBoth() {
        var (client, _) = deflateEndpoint(.client, offer: "permessage-deflate", configuration: .maximumCompression)
        let input =
            frame(opText, hex("f3 48 cd c9 c9 07 00 00"), rsv1: true, masked: false)
            + frame(opText, hex("f2 48 cd c9 c9 07 00"), rsv1: true, masked: false)
        #expect(client.feed(input) == [.message(.text("Hello")), .message(.text("Hello"))])
    }

    @Test
    func serverReceivesUncompressedMessageOnDeflateConnectionDeliversIt() {
        var (server, codec) = deflateEndpoint(.server)
        #expect(server.feed(frame(opText, Self.hello, masked: true)) == [.message(.text("Hello"))])
        #expect(!codec.holdsZlibState)
    }

    @Test
    func serverReceivesLargeCompressedMessageInManyFragmentsDeliversIt() {
        let text = (0..<20_000).map { "line \($0 % 97) of the log\n" }.joined()
        let compressed = rawDeflate(Array(text.utf8))
        var input: [UInt8] = []
        var offset = 0
        while offset < compressed.count {
            let end = min(offset + 1000, compressed.count)
            input += frame(
                offset == 0 ? opText : opContinuation,
                Array(compressed[offset..<end]),
                fin: end == compressed.count,
                rsv1: offset == 0,
                masked: true
            )
            offset = end
        }
        var (server, _) = deflateEndpoint(.server, limits: WebSocketConfiguration(maxMessageSize: 1 << 20))
        #expect(server.feed(input) == [.message(.text(text))])
    }

    // MARK: Failures

    @Test
    func serverReceivesCorruptCompressedDataFailsWith1002() {
        var (server, _) = deflateEndpoint(.server)
        _ = server.feed(frame(opBinary, [0xFF, 0xFF, 0xFF, 0xFF], rsv1: true, masked: true))
        #expect(closeCode(inServerOutput: server.drainBytes()) == 1002)
    }

    @Test
    func serverReceivesCompressedInvalidUTF8FailsWith1007() {
        var (server, _) = deflateEndpoint(.server)
        _ = server.feed(frame(opText, rawDeflate([0x48, 0xED, 0xA0, 0x80]), rsv1: true, masked: true))
        #expect(closeCode(inServerOutput: server.drainBytes()) == 1007)
    }

    @Test
    func serverReceivesRSV1OnContinuationFailsWith1002() {
        // RFC 7692 §6.1: RSV1 is set on the first frame of a message only.
        var (server, _) = deflateEndpoint(.server)
        let compressed = rawDeflate(Self.hello)
        _ = server.feed(
            frame(opText, Array(compressed.prefix(3)), fin: false, rsv1: true, masked: true)
                + frame(opContinuation, Array(compressed.dropFirst(3)), rsv1: true, masked: true)
        )
        #expect(closeCode(inServerOutput: server.drainBytes()) == 1002)
    }

    @Test
    func serverReceivesRSV1OnPingFailsWith1002() {
        // RFC 7692 §6: the extension does not apply to control frames.
        var (server, _) = deflateEndpoint(.server)
        _ = server.feed(frame(opPing, [0x00], rsv1: true, masked: true))
        #expect(closeCode(inServerOutput: server.drainBytes()) == 1002)
    }

    // MARK: Decompression bombs

    @Test
    func serverReceivesBombFailsWith1009AfterInflatingOnlyLimitPlusOne() {
        let limit = 1 << 20
        let bomb = rawDeflate([UInt8](repeating: 0, count: 16 << 20))
        #expect(bomb.count < 20_000)
        var (server, codec) = deflateEndpoint(.server, limits: WebSocketConfiguration(maxMessageSize: limit))
        _ = server.feed(frame(opBinary, bomb, rsv1: true, masked: true))
        #expect(closeCode(inServerOutput: server.drainBytes()) == 1009)
        #expect(codec.lastInflatedCount == limit + 1)
    }

    @Test
    func serverReceivesFragmentedBombFailsWith1009WithinTheRemainingBudget() {
        let limit = 100_000
        // One deflate stream cut in two fragments, each inflating to 60,000 bytes.
        let pieces = rawDeflatePieces([
            [UInt8](repeating: 0x61, count: 60_000), [UInt8](repeating: 0x61, count: 60_000),
        ])
        let (first, second) = (pieces[0], pieces[1])
        var (server, codec) = deflateEndpoint(.server, limits: WebSocketConfiguration(maxMessageSize: limit))
        _ = server.feed(frame(opBinary, first, fin: false, rsv1: true, masked: true))
        #expect(codec.lastInflatedCount == 60_000)
        _ = server.feed(frame(opContinuation, second, masked: true))
        #expect(closeCode(inServerOutput: server.drainBytes()) == 1009)
        #expect(codec.lastInflatedCount == limit - 60_000 + 1)
    }

    @Test
    func serverReceivesCompressedMessageOfExactlyTheLimitDeliversIt() {
        let limit = 50_000
        let payload = [UInt8](repeating: 0x62, count: limit)
        var (server, _) = deflateEndpoint(.server, limits: WebSocketConfiguration(maxMessageSize: limit))
        let events = server.feed(frame(opBinary, rawDeflate(payload), rsv1: true, masked: true))
        #expect(events == [.message(.binary(payload))])
    }

    // MARK: Frame limit on the wire, message limit after inflation

    /// Bytes that deflate cannot shrink (a xorshift sequence), so the compressed frame is a
    /// little larger than the message.
    static func incompressible(_ count: Int) -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    @Test
    func serverReceivesIncompressibleMessageJustUnderTheDefaultLimitsDeliversIt() {
        // The compressed frame is larger on the wire than the 1 MiB frame and message limits;
        // what counts is that the message inflates to less than the message limit.
        let payload = Self.incompressible((1 << 20) - 16)
        let compressed = rawDeflate(payload)
        #expect(compressed.count > 1 << 20)
        var (server, _) = deflateEndpoint(.server)
        let events = server.feed(frame(opBinary, compressed, rsv1: true, masked: true))
        #expect(events == [.message(.binary(payload))])
        #expect(server.drainBytes().isEmpty)
    }

    @Test
    func serverReceivesCompressedFrameOverItsLimitButSmallMessageLimitChecksEachAtItsOwnPlace() {
        // A 40,000-byte frame under a 64 KiB frame limit inflates past a 50,000-byte message
        // limit: 1009 from the inflation, not from the frame's wire size.
        let payload = Self.incompressible(40_000) + [UInt8](repeating: 0x61, count: 200_000)
        let compressed = rawDeflate(payload)
        #expect(compressed.count < 50_000)
        var limits = WebSocketConfiguration(maxFrameSize: 64 * 1024, maxMessageSize: 50_000)
        var (server, codec) = deflateEndpoint(.server, limits: limits)
        _ = server.feed(frame(opBinary, compressed, rsv1: true, masked: true))
        #expect(closeCode(inServerOutput: server.drainBytes()) == 1009)
        #expect(codec.lastInflatedCount == 50_001)

        // The same message with room for it gets through, although its frame is larger than
        // the message limit.
        let small = Self.incompressible(45_000)
        let smallCompressed = rawDeflate(small)
        #expect(smallCompressed.count > 45_000)
        limits.maxMessageSize = 45_000
        (server, _) = deflateEndpoint(.server, limits: limits)
        #expect(server.feed(frame(opBinary, smallCompressed, rsv1: true, masked: true)) == [.message(.binary(small))])
    }

    @Test
    func serverReceivesCompressedFrameBeyondTheFrameLimitAndDeflateOverheadFailsWith1009BeforeBuffering() {
        let limits = WebSocketConfiguration(maxFrameSize: 10_000, maxMessageSize: 1 << 20)
        var (server, codec) = deflateEndpoint(.server, limits: limits)
        // Only the header of a 20,000-byte compressed frame: refused before its payload.
        let header = Array(frame(opBinary, [UInt8](repeating: 0, count: 20_000), rsv1: true, masked: true).prefix(8))
        _ = server.feed(header)
        #expect(closeCode(inServerOutput: server.drainBytes()) == 1009)
        #expect(codec.lastInflatedCount == 0)
    }

    @Test
    func serverReceivesUncompressedFrameStillHeldToTheFrameLimit() {
        let limits = WebSocketConfiguration(maxFrameSize: 10_000, maxMessageSize: 1 << 20)
        var (server, _) = deflateEndpoint(.server, limits: limits)
        _ = server.feed(frame(opBinary, [UInt8](repeating: 1, count: 10_001), masked: true))
        #expect(closeCode(inServerOutput: server.drainBytes()) == 1009)
    }

    @Test
    func exactBufferHasExactlyTheRoomAsked() {
        for capacity in [1, 100, 1000, 65_537, (1 << 20) + 1] {
            let buffer = PerMessageDeflateExtension.exactBuffer(capacity: capacity, allocator: ByteBufferAllocator())
            #expect(buffer.writableBytes == capacity)
        }
    }

    // MARK: Sending

    @Test
    func serverWithContextTakeoverSendsRFCBytesForHelloTwice() {
        var configuration = PerMessageDeflateConfiguration.maximumCompression
        configuration.threshold = 0
        configuration.compressionLevel = 6
        configuration.memoryLevel = 8
        var (server, _) = deflateEndpoint(.server, offer: "permessage-deflate", configuration: configuration)
        try! server.send(.text("Hello"))
        try! server.send(.text("Hello"))
        // RFC 7692 §7.2.3.2: the second message refers to the first.
        #expect(server.drainBytes() == hex("c1 07 f2 48 cd c9 c9 07 00  c1 05 f2 00 11 00 00"))
    }

    @Test
    func serverWithoutContextTakeoverSendsEachMessageOnItsOwn() {
        var configuration = PerMessageDeflateConfiguration.balanced
        configuration.threshold = 0
        var (server, codec) = deflateEndpoint(.server, offer: "permessage-deflate", configuration: configuration)
        try! server.send(.text("Hello"))
        try! server.send(.text("Hello"))
        #expect(server.drainBytes() == hex("c1 07 f2 48 cd c9 c9 07 00  c1 07 f2 48 cd c9 c9 07 00"))
        #expect(!codec.holdsZlibState)
    }

    @Test
    func serverSendsEmptyMessageAsOneByte() {
        var (server, _) = deflateEndpoint(.server, offer: "permessage-deflate")
        try! server.send(WebSocketMessage(kind: .binary, data: ByteBuffer(), compression: .always))
        #expect(server.drainBytes() == hex("c2 01 00"))
    }

    @Test
    func serverSendsMessagesUnderTheThresholdUncompressed() {
        var (server, _) = deflateEndpoint(.server)  // threshold 128
        try! server.send(.text("Hello"))
        try! server.send(.text(String(repeating: "a", count: 127)))
        let frames = parseFrames(server.drainBytes())
        #expect(frames.map(\.rsv1) == [false, false])
        #expect(frames[0].payload == Self.hello)
    }

    @Test
    func serverSendsMessagesAtTheThresholdCompressed() {
        var (server, _) = deflateEndpoint(.server)
        let text = String(repeating: "abc", count: 43)  // 129 bytes
        try! server.send(.text(text))
        let frames = parseFrames(server.drainBytes())
        #expect(frames.map(\.rsv1) == [true])
        #expect(rawInflate(frames[0].payload) == Array(text.utf8))
    }

    @Test
    func serverSendsMessageMarkedNeverUncompressedAndAlwaysCompressed() {
        var (server, _) = deflateEndpoint(.server)
        let big = String(repeating: "x", count: 10_000)
        try! server.send(WebSocketMessage.text(big).compression(.never))
        try! server.send(WebSocketMessage.text("Hello").compression(.always))
        let frames = parseFrames(server.drainBytes())
        #expect(frames.map(\.rsv1) == [false, true])
        #expect(frames[0].payload.count == 10_000)
        #expect(rawInflate(frames[1].payload) == Self.hello)
    }

    @Test
    func clientSendsCompressedMessageInFragmentsWithRSV1OnTheFirstOnly() {
        var (client, _) = deflateEndpoint(
            .client,
            offer: "permessage-deflate",
            limits: WebSocketConfiguration(outboundFragmentSize: 8)
        )
        let text = (0..<50).map { "item \($0), " }.joined()
        try! client.send(.text(text))
        let frames = parseFrames(client.drainBytes())
        #expect(frames.count > 1)
        #expect(frames.map(\.rsv1) == [true] + Array(repeating: false, count: frames.count - 1))
        #expect(frames.map(\.opcode) == [opText] + Array(repeating: opContinuation, count: frames.count - 1))
        #expect(rawInflate(frames.flatMap(\.payload)) == Array(text.utf8))
    }

    @Test
    func clientAndServerRoundTripLargeMessagesBothWays() {
        var (client, _) = deflateEndpoint(.client, offer: "permessage-deflate", configuration: .maximumCompression)
        var (server, _) = deflateEndpoint(.server, offer: "permessage-deflate", configuration: .maximumCompression)
        for round in 0..<3 {
            let text = (0..<5000).map { "{\"id\":\($0),\"round\":\(round)}" }.joined(separator: ",")
            try! client.send(.text(text))
            #expect(server.feed(client.drainBytes()) == [.message(.text(text))])
            try! server.send(.text(text))
            #expect(client.feed(server.drainBytes()) == [.message(.text(text))])
        }
    }

    @Test
    func senderWithEightBitWindowIsReadableWithAnEightBitWindow() {
        var (server, codec) = deflateEndpoint(
            .server,
            offer: "permessage-deflate; server_max_window_bits=8",
            configuration: .maximumCompression
        )
        #expect(codec.agreement.sendingWindowBits == 8)
        var generator = SplitMix64(state: 7)
        let words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
        let text = (0..<3000).map { _ in words[Int(generator.next() % 6)] }.joined(separator: " ")
        try! server.send(.text(text))
        try! server.send(.text(text))
        let frames = parseFrames(server.drainBytes())
        // Both messages through one 8-bit-window inflater, as the peer holds it.
        let inflater = try! ZlibDecompressorForTest(windowBits: 8)
        #expect(inflater.inflate(frames[0].payload) == Array(text.utf8))
        #expect(inflater.inflate(frames[1].payload) == Array(text.utf8))
    }

    // MARK: Memory

    @Test
    func endpointHoldsNoZlibStateUntilItCompressesOrReceivesCompressed() {
        var (server, codec) = deflateEndpoint(.server, offer: "permessage-deflate", configuration: .maximumCompression)
        #expect(!codec.holdsZlibState)
        try! server.send(.text("Hi"))  // under the threshold
        _ = server.feed(frame(opText, Self.hello, masked: true))
        #expect(!codec.holdsZlibState)
        try! server.send(.text(String(repeating: "compress me ", count: 20)))
        #expect(codec.holdsZlibState)  // context takeover: kept for the next message
        server.receiveEOF()
        #expect(!codec.holdsZlibState)  // released with the connection
    }

    @Test
    func endpointWithoutContextTakeoverReleasesZlibStateAfterEachMessage() {
        var (server, codec) = deflateEndpoint(.server, offer: "permessage-deflate", configuration: .lowMemory)
        let compressed = rawDeflate(Array(String(repeating: "abcdef", count: 100).utf8))
        _ = server.feed(frame(opText, Array(compressed.prefix(5)), fin: false, rsv1: true, masked: true))
        #expect(codec.holdsZlibState)  // held while the message arrives
        _ = server.feed(frame(opContinuation, Array(compressed.dropFirst(5)), masked: true))
        #expect(!codec.holdsZlibState)
        try! server.send(.text(String(repeating: "compress me ", count: 20)))
        #expect(!codec.holdsZlibState)
    }

    @Test
    func endpointKeepsReceivingContextOnlyWhenThePeerKeepsIt() {
        var (server, codec) = deflateEndpoint(
            .server,
            offer: "permessage-deflate",
            configuration: .maximumCompression
        )
        _ = server.feed(frame(opText, rawDeflate(Self.hello), rsv1: true, masked: true))
        #expect(codec.agreement.receivingContextTakeover)
        #expect(codec.agreement.receivingWindowBits == 15)
        #expect(codec.holdsZlibState)  // a 15-bit window: the stream is kept
        #expect(codec.heldHistoryBytes == 0)
        server.receiveEOF()
        #expect(!codec.holdsZlibState)
    }

    @Test
    func endpointWithDefaultAndPlainOfferKeepsNothingOfThePeer() {
        // The client cannot be asked for a smaller window, so it is asked to keep no context.
        var (server, codec) = deflateEndpoint(.server, offer: "permessage-deflate", configuration: .balanced)
        _ = server.feed(frame(opText, rawDeflate(Self.hello), rsv1: true, masked: true))
        #expect(!codec.agreement.receivingContextTakeover)
        #expect(!codec.holdsZlibState)
        #expect(codec.heldHistoryBytes == 0)
    }

    // MARK: The peer's context kept as bytes (windows of 12 bits or less)

    /// Messages of a log, each sharing most of its text with the ones before.
    static func logLines(_ count: Int, seed: UInt64) -> [String] {
        var generator = SplitMix64(state: seed)
        let words = ["connected", "user", "room", "joined", "left", "message", "typing", "42", "lobby"]
        let base = (0..<120).map { _ in words[Int(generator.next() % UInt64(words.count))] }.joined(separator: " ")
        return (0..<count).map { "\($0): \(base) #\(generator.next() % 1000)" }
    }

    @Test(arguments: [false, true])
    func serverReceivesMessagesReferringToEarlierOnesKeepingOnlyTheWindow(byteByByte: Bool) {
        var (server, codec) = deflateEndpoint(.server)  // a browser's offer, `.balanced`
        #expect(codec.agreement.receivingWindowBits == 12)
        #expect(codec.keepsHistoryOnly)
        let peer = PeerCompressorForTest(windowBits: 12)
        let lines = Self.logLines(6, seed: 3)
        for (index, line) in lines.enumerated() {
            let compressed = peer.compress(Array(line.utf8))
            if index > 0 {
                // Most of each line is a reference into the previous one: the test is void
                // unless the window is really needed.
                #expect(compressed.count * 4 < line.utf8.count, "\(compressed.count) bytes for \(line.utf8.count)")
            }
            let events = server.feed(frame(opText, compressed, rsv1: true, masked: true), byteByByte: byteByByte)
            #expect(events == [.message(.text(line))])
            // Between messages: no zlib stream, only the peer's window.
            #expect(!codec.holdsZlibState)
            #expect(codec.heldHistoryBytes == 4096)
        }
        server.receiveEOF()
        #expect(codec.heldHistoryBytes == 0)
    }

    @Test
    func serverKeepsTheLastWindowOfBytesAcrossShortMessagesAndFragments() {
        var (server, codec) = deflateEndpoint(.server, limits: WebSocketConfiguration(maxMessageSize: 1 << 20))
        let peer = PeerCompressorForTest(windowBits: 12)
        var generator = SplitMix64(state: 11)
        func noise(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(0x61 + generator.next() % 26) } }
        // Three messages shorter than the window, then one that repeats the end of the first
        // and all of the other two: the window the server restores must hold all three, in
        // order. (zlib's compressor reaches back at most its window less 262 bytes.)
        let first = noise(3000)
        let second = noise(700)
        let third = noise(300)
        let fourth = Array(first.suffix(2500)) + second + third
        for message in [first, second, third] {
            let events = server.feed(frame(opBinary, peer.compress(message), rsv1: true, masked: true))
            #expect(events == [.message(.binary(message))])
        }
        let compressed = peer.compress(fourth)
        #expect(compressed.count < 200)
        // In fragments of 5 bytes: the window grows frame by frame.
        var input: [UInt8] = []
        var offset = 0
        while offset < compressed.count {
            let end = min(offset + 5, compressed.count)
            input += frame(
                offset == 0 ? opBinary : opContinuation,
                Array(compressed[offset..<end]),
                fin: end == compressed.count,
                rsv1: offset == 0,
                masked: true
            )
            offset = end
        }
        #expect(server.feed(input) == [.message(.binary(fourth))])
        // A message larger than the window leaves just its last 4096 bytes.
        let big = noise(50_000)
        #expect(server.feed(frame(opBinary, peer.compress(big), rsv1: true, masked: true)) == [.message(.binary(big))])
        #expect(codec.heldHistoryBytes == 4096)
        let echo = Array(big.suffix(3500))
        let tiny = peer.compress(echo)
        #expect(tiny.count < 100)
        #expect(server.feed(frame(opBinary, tiny, rsv1: true, masked: true)) == [.message(.binary(echo))])
    }

    @Test
    func serverKeepingOnlyTheWindowStartsAfreshAfterThePeerEndedItsStream() {
        var (server, codec) = deflateEndpoint(.server)
        #expect(codec.keepsHistoryOnly)
        let input =
            frame(opText, hex("f3 48 cd c9 c9 07 00 00"), rsv1: true, masked: true)  // BFINAL
            + frame(opText, hex("f2 48 cd c9 c9 07 00"), rsv1: true, masked: true)
            + frame(opText, hex("f2 00 11 00 00"), rsv1: true, masked: true)  // refers to the second
        #expect(server.feed(input) == [.message(.text("Hello")), .message(.text("Hello")), .message(.text("Hello"))])
        #expect(!codec.holdsZlibState)
    }

    @Test
    func serverKeepingOnlyTheWindowFailsAReferenceBeyondIt() {
        // A peer that compresses with a larger window than agreed refers past what is kept:
        // zlib rejects the distance (1002), as it would with the stream kept.
        var (server, _) = deflateEndpoint(.server, offer: "permessage-deflate; client_max_window_bits=9")
        let peer = PeerCompressorForTest(windowBits: 15)
        var generator = SplitMix64(state: 5)
        let first = (0..<4000).map { _ in UInt8(0x61 + generator.next() % 26) }
        let events = server.feed(frame(opBinary, peer.compress(first), rsv1: true, masked: true))
        #expect(events == [.message(.binary(first))])
        _ = server.feed(frame(opBinary, peer.compress(Array(first.prefix(1000))), rsv1: true, masked: true))
        #expect(closeCode(inServerOutput: server.drainBytes()) == 1002)
    }
}

/// A peer's compressor with context takeover: one raw zlib stream for all its messages,
/// each sync-flushed and sent without the flush's tail (RFC 7692 §7.2.1).
final class PeerCompressorForTest {
    private let compressor: ZlibCompressor

    init(windowBits: Int32) {
        compressor = try! ZlibCompressor(
            algorithm: .deflate,
            configuration: ZlibConfiguration(
                windowSize: windowBits,
                compressionLevel: 6,
                memoryLevel: 8,
                strategy: .default
            )
        )
    }

    func compress(_ bytes: [UInt8]) -> [UInt8] {
        var input = ByteBuffer(bytes: bytes)
        var output = ByteBuffer()
        output.reserveCapacity(compressor.maxSize(from: input) + 64)
        try! compressor.deflate(from: &input, to: &output, flush: .sync)
        precondition(Array(output.bytes.suffix(4)) == [0x00, 0x00, 0xFF, 0xFF])
        return Array(output.bytes.dropLast(4))
    }
}

/// Inflates several messages with one raw zlib stream of a given window, as a peer would.
final class ZlibDecompressorForTest {
    private let decompressor: ZlibDecompressor

    init(windowBits: Int32) throws {
        decompressor = try ZlibDecompressor(algorithm: .deflate, windowSize: windowBits)
    }

    func inflate(_ bytes: [UInt8]) -> [UInt8] {
        var input = ByteBuffer(bytes: bytes + [0x00, 0x00, 0xFF, 0xFF])
        var output = ByteBuffer()
        output.reserveCapacity(1 << 20)
        do {
            try decompressor.inflate(from: &input, to: &output)
        } catch let error as CompressNIOError where error == .inputBufferOverflow {
        } catch {
            Issue.record("inflate failed: \(error)")
        }
        return output.bytes
    }
}

/// Pieces of one raw deflate stream, each sync-flushed; the last one without the flush's
/// tail, as the message's fragments travel (RFC 7692 §7.2.1).
func rawDeflatePieces(_ pieces: [[UInt8]]) -> [[UInt8]] {
    let compressor = try! ZlibCompressor(algorithm: .deflate)
    var result: [[UInt8]] = []
    for piece in pieces {
        var output = ByteBuffer()
        output.reserveCapacity(1 << 20)
        var input = ByteBuffer(bytes: piece)
        try! compressor.deflate(from: &input, to: &output, flush: .sync)
        result.append(output.bytes)
    }
    result[result.count - 1].removeLast(4)
    return result
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
