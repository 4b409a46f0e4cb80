import CBFloat16GEMM

/// The number format a model's weights are kept in, and so the one its matrix products use.
///
/// fp32 is the reference path (parity tests against diffusers run on it). bf16 halves the weight
/// memory and runs every GEMM of the model (weights × activations and activations × activations)
/// on the CPU's AVX512-BF16 dot products with fp32 sums, as PyTorch's bf16 autocast does; all
/// other arithmetic (norms, softmax, activations, the sampler) stays fp32.
public enum Precision: String, Sendable, CaseIterable {
    case fp32
    case bf16

    /// Whether this CPU can run the bf16 path (AVX512-BF16 with the OS saving AVX-512 state, and
    /// AVX-512 not switched off).
    public static var bf16Available: Bool { CPUFeatures.current.avx512BF16 }

    /// Why this precision cannot run here, or nil when it can.
    public var unavailableReason: String? {
        switch self {
        case .fp32: return nil
        case .bf16:
            return Precision.bf16Available
                ? nil
                : CPUFeatures.current.avx512Disabled
                ? "bf16 needs AVX512-BF16, which IMAGINE_DISABLE_AVX512 switched off"
                : "bf16 needs a CPU with AVX512-BF16 (Intel Cooper Lake / Sapphire Rapids, AMD Zen 4 or later); this one lacks it"
        }
    }
}
