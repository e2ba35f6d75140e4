#if canImport(Glibc)
import Glibc

/// glibc's allocator settings for the daemon (see `Serve.run`).
enum MemoryTuning {
    /// `mallopt(M_TRIM_THRESHOLD, bytes)`: free memory at the top of a heap is returned to the system only above this.
    /// `mallopt` is declared in <malloc.h>, which Swift's Glibc module does not include, so it is looked up by name.
    static func keepFreedHeapUpTo(_ bytes: Int32) {
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let trimThreshold: Int32 = -1  // M_TRIM_THRESHOLD in <malloc.h>
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(trimThreshold, bytes)
    }
}
#endif
