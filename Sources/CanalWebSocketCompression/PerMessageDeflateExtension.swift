import CanalWebSocketCore
import CompressNIO
import NIOCore

/// The permessage-deflate codec of one connection (RFC 7692), on zlib through compress-nio.
///
/// No zlib stream exists until the first message is compressed or the first compressed
/// message arrives. A side without context takeover borrows a pooled stream for one message
/// and returns it; a side with context takeover keeps its own until the connection ends.
/// A peer with context takeover and a window of at most `maxHistoryWindowBits` is received
/// without keeping a stream: between messages only the last `2^windowBits` bytes received
/// are kept, and a pooled stream is primed with them (as one stored deflate block, whose
/// bytes become its window) when the next compressed message arrives.
///
/// Decompression is bounded: a message inflates into a buffer that never holds more than
/// the connection's remaining message budget plus one byte, and the message fails with
/// 1009 as soon as that byte is written, without inflating the rest (decompression bombs).
public final class PerMessageDeflateExtension: WebSocketExtension {
    public let name = PerMessageDeflate.name
    public let reservedBits = WebSocketFrameHeader.rsv1
    public let agreement: PerMessageDeflateAgreement

    private let threshold: Int
    private let compressorKey: ZlibStreamPool.CompressorKey
    let decompressorWindowBits: Int32
    private let pool = ZlibStreamPool.shared
    private let allocator = ByteBufferAllocator()

    /// Kept between messages only with context takeover on our side.
    private var compressor: ZlibCompressor?
    /// Held while a message arrives, and between messages only with the peer's context
    /// takeover and a window larger than `maxHistoryWindowBits`.
    private var decompressor: ZlibDecompressor?
    /// With the peer's context takeover and a small window: the last bytes received, at most
    /// the window, which is all the peer's next message may refer to.
    private var history: ByteBuffer?
    /// Whether the peer's window is kept as `history` rather than in a zlib stream.
    let keepsHistoryOnly: Bool
    /// The peer ended its deflate stream (a block with BFINAL): start afresh with the next message.
    private var streamEnded = false

    /// RFC 7692 §7.2.1: the empty stored block that ends a sync flush, stripped from each
    /// message sent and put back before inflating one received.
    static let syncFlushTail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    /// The largest peer window kept as bytes rather than as a zlib stream (4 KiB). zlib's
    /// decoder state is about 7 KiB besides its window, so for small windows keeping the
    /// bytes alone costs a fraction of the stream, for one copy of the window per message.
    static let maxHistoryWindowBits: Int32 = 12

    init(agreement: PerMessageDeflateAgreement) {
        self.agreement = agreement
        let configuration = agreement.configuration
        threshold = max(0, configuration.threshold)
        compressorKey = ZlibStreamPool.CompressorKey(
            // zlib refuses raw deflate with 8 bits; 9 keeps match distances within 250 bytes,
            // inside the 256-byte window a peer that negotiated 8 holds.
            windowBits: Int32(max(agreement.sendingWindowBits, 9)),
            memoryLevel: configuration.clampedMemoryLevel,
            level: configuration.clampedCompressionLevel
        )
        // A zlib peer that negotiated 8 compresses with 9 (see above): inflate with at least 9.
        decompressorWindowBits = Int32(max(agreement.receivingWindowBits, 9))
        keepsHistoryOnly = agreement.receivingContextTakeover && decompressorWindowBits <= Self.maxHistoryWindowBits
    }

    /// The window zlib compresses with.
    var compressorWindowBits: Int32 { compressorKey.windowBits }

    /// Whether zlib state is held right now (for tests and memory accounting).
    public var holdsZlibState: Bool { compressor != nil || decompressor != nil }

    /// The bytes of the peer's window held between messages without a zlib stream (for
    /// tests and memory accounting).
    public var heldHistoryBytes: Int { history?.capacity ?? 0 }

    /// The bytes the last `decode` inflated, even when it failed (for tests of the limit).
    private(set) var lastInflatedCount = 0

    // MARK: Sending

    public func encode(_ message: ByteBuffer) -> ByteBuffer? {
        encode(message, compression: .automatic)
    }

    public func encode(_ message: ByteBuffer, compression: WebSocketMessage.Compression) -> ByteBuffer? {
        guard shouldCompress(length: message.readableBytes, compression) else { return nil }
        let stream: ZlibCompressor
        if let kept = compressor {
            stream = kept
        } else if let fresh = pool.takeCompressor(compressorKey) {
            stream = fresh
        } else {
            return nil  // out of memory: this message goes uncompressed
        }
        compressor = nil
        guard let output = Self.deflate(message, with: stream, allocator: allocator) else {
            // The stream's state is unknown: drop it. The peer may keep a window we no
            // longer have, which is harmless: we never refer to it again.
            return nil
        }
        if agreement.sendingContextTakeover {
            compressor = stream
        } else {
            pool.putCompressor(stream, compressorKey)
        }
        return output
    }

    public func sharedEncodingKey(forLength length: Int, compression: WebSocketMessage.Compression) -> String? {
        guard shouldCompress(length: length, compression) else { return "" }
        // With context takeover the bytes depend on the messages sent before.
        guard !agreement.sendingContextTakeover else { return nil }
        return "w=\(compressorKey.windowBits)"
    }

    private func shouldCompress(length: Int, _ compression: WebSocketMessage.Compression) -> Bool {
        switch compression {
        case .never: return false
        case .always: return true
        case .automatic: return length >= threshold
        }
    }

    /// Compresses one message with a sync flush and strips the flush's trailing
    /// `00 00 FF FF` (RFC 7692 §7.2.1). Nil if zlib fails.
    static func deflate(_ message: ByteBuffer, with stream: ZlibCompressor, allocator: ByteBufferAllocator)
        -> ByteBuffer?
    {
        // zlib wants a real pointer even for no input.
        var input = message.readableBytes > 0 ? message : allocator.buffer(capacity: 1)
        var output = allocator.buffer(capacity: stream.maxSize(from: input))
        while true {
            do {
                try stream.deflate(from: &input, to: &output, flush: .sync)
            } catch let error as CompressNIOError where error == .bufferOverflow && input.readableBytes == 0 {
                // Z_BUF_ERROR: nothing left to flush (the previous call completed it).
            } catch {
                return nil
            }
            // zlib: the flush is complete once it returns with room left in the output.
            if input.readableBytes == 0, output.writableBytes > 0 { break }
            output.reserveCapacity(minimumWritableBytes: max(64, output.readableBytes))
        }
        guard output.readableBytes >= 4,
            output.getBytes(at: output.writerIndex - 4, length: 4) == syncFlushTail
        else { return nil }
        output.moveWriterIndex(to: output.writerIndex - 4)
        return output
    }

    // MARK: Receiving

    /// Deflate makes incompressible data slightly larger (stored blocks, or Huffman codes
    /// longer than 8 bits). This is zlib's conservative `deflateBound` for raw deflate, so
    /// that a peer's message whose content fits the frame limit is never refused for it.
    public func maxEncodedSize(decodedSize: Int) -> Int {
        let size = max(0, decodedSize)
        let (bound, overflow) = size.addingReportingOverflow(((size &+ 7) >> 3) &+ ((size &+ 63) >> 6) &+ 5)
        return overflow ? Int.max : bound
    }

    public func decode(_ payload: ByteBuffer, isFinal: Bool, limit: Int) -> Result<ByteBuffer, WebSocketProtocolError> {
        let stream: ZlibDecompressor
        if let current = decompressor {
            stream = current
        } else if let fresh = pool.takeDecompressor(windowBits: decompressorWindowBits) {
            stream = fresh
            decompressor = fresh
            streamEnded = false
            if let history, history.readableBytes > 0, !prime(fresh, with: history) {
                decompressor = nil
                return .failure(.extensionFailure("could not restore the compression window"))
            }
        } else {
            return .failure(.extensionFailure("no memory for a decompressor"))
        }
        let limit = max(0, limit)
        var output = Self.exactBuffer(
            capacity: min(limit + 1, max(256, payload.readableBytes * 4)),
            allocator: allocator
        )
        do {
            if payload.readableBytes > 0 {
                var input = payload
                try inflate(&input, with: stream, into: &output, limit: limit)
            }
            if isFinal {
                var tail = ByteBuffer(bytes: Self.syncFlushTail)
                try inflate(&tail, with: stream, into: &output, limit: limit)
            }
        } catch {
            lastInflatedCount = output.readableBytes
            // The connection fails; drop the stream rather than pool a broken one.
            decompressor = nil
            history = nil
            return .failure(error == .tooBig ? WebSocketProtocolError.messageTooBig : .extensionFailure("\(error)"))
        }
        lastInflatedCount = output.readableBytes
        if keepsHistoryOnly { remember(output) }
        if isFinal { finishReceivedMessage() }
        return .success(output)
    }

    private func finishReceivedMessage() {
        guard let stream = decompressor else { return }
        if keepsHistoryOnly {
            // The stream goes back to the pool; `history` holds its window. A peer that
            // ended its stream left nothing to refer to.
            if streamEnded { history = nil }
            streamEnded = false
            decompressor = nil
            pool.putDecompressor(stream, windowBits: decompressorWindowBits)
            return
        }
        if agreement.receivingContextTakeover, !streamEnded { return }
        if agreement.receivingContextTakeover {
            // The peer ended its stream, so there is no window left to refer to.
            _ = try? stream.reset()
            streamEnded = false
            return
        }
        decompressor = nil
        pool.putDecompressor(stream, windowBits: decompressorWindowBits)
    }

    enum InflateError: Error, Equatable, CustomStringConvertible {
        case tooBig
        case corrupt

        var description: String {
            switch self {
            case .tooBig: return "message too big after decompression"
            case .corrupt: return "invalid compressed data"
            }
        }
    }

    /// Inflates all of `input` into `output`, which never grows past `limit + 1` bytes:
    /// reaching that size means the message is over the limit.
    private func inflate(
        _ input: inout ByteBuffer,
        with stream: ZlibDecompressor,
        into output: inout ByteBuffer,
        limit: Int
    ) throws(InflateError) {
        // After the end of the deflate stream zlib reads nothing more; what follows (padding,
        // our own tail) is ignored, as zlib-based peers ignore it.
        if streamEnded { return }
        while true {
            if output.writableBytes == 0 {
                guard output.readableBytes <= limit else { throw .tooBig }
                let capacity = min(limit + 1, max(256, output.capacity * 2))
                var bigger = Self.exactBuffer(capacity: capacity, allocator: allocator)
                bigger.writeBuffer(&output)
                output = bigger
            }
            do {
                try stream.inflate(from: &input, to: &output)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                // The output is full; grow it (or stop at the limit) and go on.
                guard output.readableBytes <= limit else { throw .tooBig }
                continue
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                // Z_BUF_ERROR with no input left: everything so far is out.
                return
            } catch {
                throw .corrupt
            }
            guard output.readableBytes <= limit else { throw .tooBig }
            if input.readableBytes > 0 {
                // Z_STREAM_END before the input ran out: the peer ended its stream (BFINAL).
                streamEnded = true
            }
            return
        }
    }

    /// Appends what a message inflated to `history`, keeping the last `2^windowBits` bytes.
    private func remember(_ output: ByteBuffer) {
        let window = 1 << Int(decompressorWindowBits)
        var kept = history ?? allocator.buffer(capacity: window)
        history = nil  // `kept` is now the only reference: no copy on write below
        let incoming = min(output.readableBytes, window)
        let dropped = max(0, kept.readableBytes + incoming - window)
        kept.moveReaderIndex(forwardBy: dropped)
        kept.discardReadBytes()
        kept.writeImmutableBuffer(output.getSlice(at: output.writerIndex - incoming, length: incoming)!)
        history = kept
    }

    /// Makes `history` the window of a fresh stream: inflating one stored block (RFC 1951
    /// §3.2.4: a header byte with BFINAL 0 and BTYPE 00, then LEN and its one's complement)
    /// that holds the bytes copies them into zlib's window, which is what the peer's next
    /// message refers to. Both the peer's messages and the block end on a byte boundary.
    private func prime(_ stream: ZlibDecompressor, with history: ByteBuffer) -> Bool {
        let length = history.readableBytes
        var header = ByteBuffer(bytes: [
            0x00, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF),
        ])
        var bytes = history
        // One byte more than the block: zlib stops with room left, and compress-nio reads
        // a full output buffer as an overflow.
        var scratch = allocator.buffer(capacity: length + 1)
        do {
            try stream.inflate(from: &header, to: &scratch)
            try stream.inflate(from: &bytes, to: &scratch)
        } catch {
            return false
        }
        return header.readableBytes == 0 && bytes.readableBytes == 0 && scratch.readableBytes == length
    }

    /// A buffer with room for exactly `capacity` bytes, so that zlib, which fills whatever
    /// room it is given, cannot write past the limit. (Allocations round up to a power of
    /// two; a slice of the exact length, alone on its storage, does not.)
    static func exactBuffer(capacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var storage = allocator.buffer(capacity: capacity)
        guard storage.capacity != capacity else { return storage }
        storage.moveWriterIndex(to: capacity)
        var exact = storage.getSlice(at: storage.readerIndex, length: capacity)!
        storage = ByteBuffer()
        exact.moveWriterIndex(to: 0)
        return exact
    }

    // MARK: End

    public func release() {
        if let stream = compressor {
            compressor = nil
            pool.putCompressor(stream, compressorKey)
        }
        if let stream = decompressor {
            decompressor = nil
            pool.putDecompressor(stream, windowBits: decompressorWindowBits)
        }
        history = nil
    }
}
