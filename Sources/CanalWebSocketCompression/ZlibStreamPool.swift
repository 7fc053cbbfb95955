import CompressNIO
import NIOConcurrencyHelpers
import NIOCore

/// zlib streams kept for reuse by connections that hold none between messages (no context
/// takeover), so that such a connection costs no zlib memory while idle and no zlib set-up
/// per message. A stream is reset before it goes back in. The pool keeps a few streams per
/// setting (about one per thread that compresses at a time) and frees the rest.
///
/// `@unchecked Sendable`: the dictionaries are only touched under `lock`, and a stream
/// belongs either to the pool or, after `take`, to exactly one caller until it is put back,
/// so no stream is ever used by two threads at once.
final class ZlibStreamPool: @unchecked Sendable {
    struct CompressorKey: Hashable {
        var windowBits: Int32
        var memoryLevel: Int32
        var level: Int32
    }

    static let shared = ZlibStreamPool()

    /// Streams kept per setting. More than the event-loop threads of a usual server.
    private let limit = 16
    private let lock = NIOLock()
    private var compressors: [CompressorKey: [ZlibCompressor]] = [:]
    private var decompressors: [Int32: [ZlibDecompressor]] = [:]

    func takeCompressor(_ key: CompressorKey) -> ZlibCompressor? {
        if let pooled = lock.withLock({ compressors[key]?.popLast() }) { return pooled }
        let configuration = ZlibConfiguration(
            windowSize: key.windowBits,
            compressionLevel: key.level,
            memoryLevel: key.memoryLevel,
            strategy: .default
        )
        return try? ZlibCompressor(algorithm: .deflate, configuration: configuration)
    }

    func putCompressor(_ compressor: ZlibCompressor, _ key: CompressorKey) {
        guard (try? compressor.reset()) != nil else { return }
        lock.withLock {
            if compressors[key, default: []].count < limit { compressors[key, default: []].append(compressor) }
        }
    }

    func takeDecompressor(windowBits: Int32) -> ZlibDecompressor? {
        if let pooled = lock.withLock({ decompressors[windowBits]?.popLast() }) { return pooled }
        return try? ZlibDecompressor(algorithm: .deflate, windowSize: windowBits)
    }

    func putDecompressor(_ decompressor: ZlibDecompressor, windowBits: Int32) {
        guard (try? decompressor.reset()) != nil else { return }
        lock.withLock {
            if decompressors[windowBits, default: []].count < limit {
                decompressors[windowBits, default: []].append(decompressor)
            }
        }
    }

    /// Frees every pooled stream (for tests and memory measurements).
    func drain() {
        lock.withLock {
            compressors = [:]
            decompressors = [:]
        }
    }

    /// Streams now in the pool.
    var count: Int {
        lock.withLock {
            compressors.values.reduce(0) { $0 + $1.count } + decompressors.values.reduce(0) { $0 + $1.count }
        }
    }
}
