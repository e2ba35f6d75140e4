#if canImport(Glibc)
import Glibc

/// glibc's allocator settings for the daemon (see `Serve.run`).
enum MemoryTuning {
    /// `mallopt(M_TRIM_THRESHOLD, bytes)`: free memory at the top of a heap is returned to the system only above this.
    static func keepFreedHeapUpTo(_ bytes: Int32) {
        mallopt(-1, bytes)  // M_TRIM_THRESHOLD in <malloc.h>
    }

    /// `mallopt(M_MMAP_THRESHOLD, bytes)`: blocks below this come from the heap, larger ones get their own mapping.
    ///
    /// Setting the trim threshold stops glibc from raising this one by itself (it starts at 128 KB and grows to the
    /// size of mapped blocks freed), so it must be set too: libcurl allocates a 128 KB SMTP scratch buffer for every
    /// transfer, and below this threshold it would be mapped and unmapped for every message.
    static func mapBlocksFrom(_ bytes: Int32) {
        mallopt(-3, bytes)  // M_MMAP_THRESHOLD in <malloc.h>
    }

    /// `mallopt` is declared in <malloc.h>, which Swift's Glibc module does not include, so it is looked up by name.
    private static func mallopt(_ parameter: Int32, _ value: Int32) {
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(parameter, value)
    }
}
#endif
