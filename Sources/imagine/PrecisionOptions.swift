import ArgumentParser
import Kernels

extension Precision: ExpressibleByArgument {}

/// `--precision`, shared by every command that loads a model.
struct PrecisionOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "fp32 (the reference) or bf16 (weights in half the memory, matrix products on the CPU's "
            + "AVX512-BF16 instructions; faster, pictures ~52–56 dB PSNR from fp32) "
            + "(default: fp32; live uses bf16 where the CPU has it).",
        valueName: "format"))
    var precision: Precision?

    func validate() throws {
        if let reason = precision?.unavailableReason { throw ValidationError(reason) }
    }

    /// `--precision`, else `fallback`.
    func resolved(_ fallback: Precision = .fp32) -> Precision { precision ?? fallback }

    /// What `live` renders in unless told: bf16 where the CPU has it. Its previews must keep up
    /// with typing, and bf16 measured 1.5× faster per preview (SD-Turbo size: p50 955 ms against
    /// 1430 ms) at a difference from fp32 no 8-bit picture shows (52–56 dB PSNR).
    static var interactive: Precision { Precision.bf16Available ? .bf16 : .fp32 }
}
