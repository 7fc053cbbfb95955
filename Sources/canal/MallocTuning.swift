#if canImport(Glibc)
import Glibc
#endif

/// glibc's allocator tuned for a server that receives large messages.
///
/// By default glibc serves allocations above 128 KiB with fresh `mmap`s (the threshold
/// then creeps up) and gives free memory at the top of a heap back to the kernel as soon
/// as 2x that threshold is free. A server echoing 1 MiB messages then faults in and zeroes
/// every page of every message buffer again: `perf` showed page faults, page clearing and
/// unmapping at a quarter of the server's time, and the CPU per 1 MiB message halved with
/// the settings below. They keep buffers of up to 4 MiB on the heap and let at most 8 MiB
/// sit free at the top of a heap before it is returned; smaller allocations are unaffected.
///
/// Settings given in `GLIBC_TUNABLES` win: nothing is changed when that variable is set.
enum MallocTuning {
    static func applyForServers() {
        #if canImport(Glibc)
        guard getenv("GLIBC_TUNABLES") == nil else { return }
        // <malloc.h> is not in Swift's Glibc module: look `mallopt` up instead. Its
        // parameter numbers are fixed by glibc's ABI.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
        _ = mallopt(mmapThreshold, 4 << 20)
        _ = mallopt(trimThreshold, 8 << 20)
        #endif
    }
}
