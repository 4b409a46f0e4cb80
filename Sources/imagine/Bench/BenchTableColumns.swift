import Foundation

/// The layout of `imagine bench table`: each engine's time followed by our time's ratio to it, and
/// OpenVINO's two precisions side by side with the ratio right after the one at ours — a ratio
/// across precisions would measure the format, not the engine.
struct BenchTableColumns {
    /// Whether our side ran bf16 (else fp32, compared with OpenVINO f32).
    let oursBF16: Bool

    /// What one row measured; nil where an engine was not measured.
    struct Cells {
        let label: String
        let ours: Double
        let oursMB: Double
        var pytorch: Measurement?
        var pytorchTuned: Measurement?
        /// Ours against PyTorch.
        var error: Double?
        /// Each precision, with its error against PyTorch.
        var openvino: [OpenVINOReference.Precision: (outcome: OpenVINOReference.Outcome, error: Double?)] = [:]
    }

    var header: [String] {
        ["component", "ours", "PyTorch", "ratio", "PyTorch, tuned malloc", "ratio"]
            + (oursBF16 ? ["OpenVINO f32", "OpenVINO bf16", "ratio"] : ["OpenVINO f32", "ratio", "OpenVINO bf16"])
            + ["error ours", "error OpenVINO f32 / bf16", "RSS ours", "RSS PyTorch", "RSS OpenVINO f32 / bf16"]
    }

    func cells(_ row: Cells) -> [String] {
        func ratio(_ seconds: Double?) -> String { seconds.map { String(format: "**%.2f**", row.ours / $0) } ?? "–" }
        func time(_ precision: OpenVINOReference.Precision) -> String {
            switch row.openvino[precision]?.outcome {
            case .measured(let measurement, _): return duration(measurement.median)
            case .unsupported(let reason): return reason
            case .failed: return "failed"
            case nil: return "–"
            }
        }
        func measured(_ precision: OpenVINOReference.Precision) -> Measurement? {
            if case .measured(let measurement, _) = row.openvino[precision]?.outcome { return measurement }
            return nil
        }
        let openvino = oursBF16 ? [time(.f32), time(.bf16), ratio(measured(.bf16)?.median)]
                                : [time(.f32), ratio(measured(.f32)?.median), time(.bf16)]
        let errors = row.openvino.isEmpty ? "–"
            : [OpenVINOReference.Precision.f32, .bf16].map { row.openvino[$0]?.error.map(scientific) ?? "–" }.joined(separator: " / ")
        let memory = [OpenVINOReference.Precision.f32, .bf16].map { measured($0).map { String(format: "%.0f", $0.peakMB) } ?? "–" }
        let pytorchMB = [row.pytorch, row.pytorchTuned].compactMap { $0?.peakMB }.max()
        return [row.label, duration(row.ours),
                row.pytorch.map { duration($0.median) } ?? "–", ratio(row.pytorch?.median),
                row.pytorchTuned.map { duration($0.median) } ?? "–", ratio(row.pytorchTuned?.median)]
            + openvino
            + [row.error.map(scientific) ?? "–", errors,
               megabytes(row.oursMB), pytorchMB.map(megabytes) ?? "–",
               memory.allSatisfy { $0 == "–" } ? "–" : memory.joined(separator: " / ") + " MB"]
    }
}

/// "1.234 s", or "12.3 ms" below a second.
func duration(_ seconds: Double) -> String {
    seconds >= 1 ? String(format: "%.3f s", seconds) : String(format: "%.1f ms", seconds * 1000)
}

private func scientific(_ value: Double) -> String { String(format: "%.1e", value) }

private func megabytes(_ value: Double) -> String { String(format: "%.0f MB", value) }
