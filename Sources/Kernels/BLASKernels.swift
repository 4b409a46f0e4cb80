import CBLAS

/// Which of OpenBLAS's kernel families runs the fp32 products, and which one should.
///
/// OpenBLAS picks its kernels once, as the library loads, from the CPU models it knows. An
/// OpenBLAS older than the CPU does not know it and falls back to generic SSE3 kernels
/// ("Prescott"): measured on an Emerald Rapids Xeon with Debian 12's 0.3.21, a U-Net step ran 3×
/// slower than with the AVX-512 kernels the CPU can run. `OPENBLAS_CORETYPE` in the environment
/// overrides the choice, but only before the library loads, so the `imagine` executable
/// re-executes itself once with it set (see `preferredCoreType`).
public enum BLASKernels {
    /// The kernel family OpenBLAS uses in this process ("Cooperlake", "Haswell", "Prescott", …).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// "OpenBLAS 0.3.21" (the version from OpenBLAS's build configuration).
    public static var library: String {
        guard let config = openblas_get_config() else { return "OpenBLAS" }
        return String(cString: config).split(separator: " ").prefix(2).joined(separator: " ")
    }

    /// The families this chooses between, best first, with what each needs. Every name is one
    /// OpenBLAS 0.3.21 honours in `OPENBLAS_CORETYPE` (x86-64, DYNAMIC_ARCH builds such as
    /// Debian's; measured: it ignores "Cooperlake" there, and falls back to its own detection).
    /// Cooperlake's fp32 kernels are SkylakeX's, so AVX-512 CPUs lose nothing; AMD's "Zen" family
    /// runs the Haswell kernels.
    static let families: [(name: String, runsOn: @Sendable (CPUFeatures) -> Bool)] = [
        ("SkylakeX", { $0.avx512 }),
        ("Haswell", { $0.avx2 && $0.fma }),
        ("Sandybridge", { $0.avx }),
    ]

    /// The best family this CPU can run; nil when it has no AVX (leave OpenBLAS's choice).
    public static func best(for features: CPUFeatures) -> String? {
        families.first { $0.runsOn(features) }?.name
    }

    /// How wide the vector kernels of a reported family are: what matters when comparing it with
    /// the best one. Families OpenBLAS reports that are not in `families` rank by their widest
    /// instructions; unknown names (older CPUs, other vendors' SSE families) rank lowest.
    static func vectorRank(of coreName: String) -> Int {
        switch coreName.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return 3
        case "haswell", "zen", "excavator": return 2
        case "sandybridge", "bulldozer", "piledriver", "steamroller": return 1
        default: return 0
        }
    }

    /// The `OPENBLAS_CORETYPE` to run with instead of `reported`, or nil to keep it: only when
    /// OpenBLAS chose kernels of another width than the best this CPU runs — narrower on a CPU
    /// newer than the library, wider when AVX-512 is switched off (`CPUFeatures.current`) — and
    /// only when the environment does not already set one (a person's own choice stands, and a
    /// re-executed process never loops).
    public static func preferredCoreType(reported: String, features: CPUFeatures,
                                         environment: [String: String]) -> String? {
        if let set = environment["OPENBLAS_CORETYPE"], !set.isEmpty { return nil }
        guard let best = best(for: features), vectorRank(of: best) != vectorRank(of: reported) else { return nil }
        return best
    }
}
