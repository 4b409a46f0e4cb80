#if canImport(Glibc)
/// glibc's `int mallopt(int param, int value)` from <malloc.h>, which the Glibc module does not
/// export; the parameter numbers are glibc's ABI.
@_silgen_name("mallopt")
private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
private let M_TRIM_THRESHOLD: Int32 = -1, M_TOP_PAD: Int32 = -2, M_MMAP_MAX: Int32 = -4
/// glibc's `int malloc_trim(size_t pad)`, also not exported by the Glibc module.
@_silgen_name("malloc_trim")
private func malloc_trim(_ pad: Int) -> Int32
#endif

/// How the process's allocator treats the large, short-lived activation buffers every layer
/// allocates.
public enum Memory {
    /// glibc's malloc serves each block above its mmap threshold (128 KB, rising to 32 MB) with a
    /// fresh mapping and unmaps it on free, so every layer's output (64 MB per TAESD activation
    /// at 512²) was page-faulted in and zeroed by the kernel again: measured 15–25 % of the
    /// decoders' time. Serving all blocks from the heap and never trimming it reuses the same
    /// pages instead. Peak RSS stays the peak of live memory; the heap just does not shrink
    /// afterwards. `imagine bench table` tunes PyTorch's malloc the same way (MALLOC_MMAP_MAX_,
    /// MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_) for its "tuned" column. A no-op where malloc is
    /// not glibc's.
    public static func reuseFreedBlocks() {
        #if canImport(Glibc)
        _ = mallopt(M_MMAP_MAX, 0)
        _ = mallopt(M_TRIM_THRESHOLD, Int32.max)
        _ = mallopt(M_TOP_PAD, 64 << 20)
        #endif
    }

    /// Hands the free pages of the heap back to the system. `reuseFreedBlocks` keeps freed memory
    /// in the process (resident, and counted in its RSS) for the next activation to reuse; after a
    /// model component's weights are released that is hundreds of MB the rest of the run may never
    /// need, so whoever releases them calls this. It unmaps free pages anywhere in the heap, not only at
    /// its top. A no-op where malloc is not glibc's.
    public static func returnFreedPages() {
        #if canImport(Glibc)
        _ = malloc_trim(0)
        #endif
    }
}
