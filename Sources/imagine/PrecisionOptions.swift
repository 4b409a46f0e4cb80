import ArgumentParser
import Kernels

/// `--precision`'s values: a format, or `auto` to take whichever is faster on this CPU.
enum PrecisionChoice: String, CaseIterable, ExpressibleByArgument {
    case auto
    case fp32
    case bf16
}

/// `--precision`, shared by every command that loads a model.
struct PrecisionOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "auto (bf16 where this CPU runs it measurably faster, else fp32), fp32 (the reference) or bf16 "
            + "(weights in half the memory, matrix products on the CPU's AVX512-BF16 instructions; "
            + "pictures ~52–56 dB PSNR from fp32) (default: auto for generate and live, fp32 for bench).",
        valueName: "format"))
    var precision: PrecisionChoice?

    func validate() throws {
        if let precision, let format = Precision(rawValue: precision.rawValue), let reason = format.unavailableReason {
            throw ValidationError(reason)
        }
    }

    /// `--precision`, else `fallback`, with `auto` decided (measured once per CPU, then cached).
    func resolved(_ fallback: PrecisionChoice = .fp32) -> Precision {
        switch precision ?? fallback {
        case .auto: return AutomaticPrecision.current.precision
        case .fp32: return .fp32
        case .bf16: return .bf16
        }
    }
}
