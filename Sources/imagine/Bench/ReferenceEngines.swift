import ArgumentParser
import Foundation

/// One timed measurement: the median and the process's peak RSS.
struct Measurement: Decodable {
    let median: Double
    let peakMB: Double

    enum CodingKeys: String, CodingKey { case median, peakMB = "rss_mb" }
}

/// PyTorch in fp32, as people run it, through `ReferenceBenchScript` in a Python with torch,
/// diffusers and transformers — which OpenVINO's measurements need too, as it converts from
/// PyTorch's modules.
struct PyTorchReference {
    let python: String
    /// "torch …, diffusers …".
    let version: String

    /// Glibc malloc tuned as `Memory.reuseFreedBlocks` tunes ours: no mmap'd blocks, no trimming,
    /// a 1 GB top pad, so the comparison is not one of allocators.
    static let tunedMalloc = ["MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "137438953472", "MALLOC_TOP_PAD_": "1073741824"]

    /// The first Python that imports torch, diffusers and transformers.
    init?(python explicit: String?) {
        for python in Self.candidates(explicit) {
            let probe = "import torch, diffusers, transformers; print(f'torch {torch.__version__}, diffusers {diffusers.__version__}')"
            if let version = try? runChild(executable: URL(fileURLWithPath: python), arguments: ["-c", probe], environment: [:]) {
                self.python = python
                self.version = version.trimmingCharacters(in: .whitespacesAndNewlines)
                return
            }
        }
        return nil
    }

    static func missingReason(python: String?) -> String {
        "no Python with torch, diffusers and transformers among \(candidates(python).joined(separator: ", "))"
    }

    private static func candidates(_ explicit: String?) -> [String] {
        if let explicit { return [explicit] }
        let environment = ProcessInfo.processInfo.environment
        return [environment["IMAGINE_PYTHON"], environment["HOME"].map { "\($0)/.venvs/imagine/bin/python" }]
            .compactMap { $0 }.filter { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func measure(_ row: BenchTable.Row, inputs: URL, output: URL, threads: Int, runs: Int, tunedMalloc: Bool) throws -> Measurement {
        try script(["torch", row.component.rawValue, row.folder.path, inputs.path, output.path,
                    "--threads", "\(threads)", "--runs", "\(runs)", "--prompt", BenchTable.prompt],
                   environment: tunedMalloc ? Self.tunedMalloc : [:])
    }

    /// What the script printed on its last line, decoded.
    func script<Result: Decodable>(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let text = try runChild(executable: URL(fileURLWithPath: python), arguments: ["-c", ReferenceBenchScript.source] + arguments,
                                environment: environment)
        guard let line = text.split(separator: "\n").last,
              let result = try? JSONDecoder().decode(Result.self, from: Data(line.utf8)) else {
            throw ValidationError("could not read the reference script's output (\(arguments.first ?? "")):\n\(text)")
        }
        return result
    }
}

/// OpenVINO on the CPU: `openvino.convert_model` on PyTorch's very module and inputs, compiled for
/// latency with one stream, at f32 or bf16.
struct OpenVINOReference {
    /// The Python it runs in.
    let pytorch: PyTorchReference
    let version: String

    enum Precision: String, CaseIterable { case f32, bf16 }

    /// What one precision gave.
    enum Outcome {
        case measured(Measurement, output: URL)
        /// This CPU cannot run it (bf16 without AVX512-BF16 or AMX): a cell, not an error.
        case unsupported(String)
        case failed
    }

    /// nil when PyTorch's Python cannot import openvino.
    init?(pytorch: PyTorchReference) {
        guard let version = try? runChild(executable: URL(fileURLWithPath: pytorch.python),
                                          arguments: ["-c", "import openvino; print(openvino.__version__)"], environment: [:]) else {
            return nil
        }
        self.pytorch = pytorch
        self.version = version.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func missingReason(pytorch: PyTorchReference) -> String {
        "openvino is not importable in \(pytorch.python)"
    }

    /// Both precisions of one row. The conversion runs in a process of its own, so that neither
    /// measurement's peak RSS holds PyTorch's copy of the weights. A failure costs this row's
    /// OpenVINO cells, not the table: the reason goes to standard error.
    func measure(_ row: BenchTable.Row, inputs: URL, work: URL, threads: Int, runs: Int) -> [Precision: Outcome] {
        let ir = work.appendingPathComponent("openvino-\(row.slug)")
        defer { try? FileManager.default.removeItem(at: ir) }
        struct Converted: Decodable { let seconds: Double }
        do {
            let _: Converted = try pytorch.script(["openvino-convert", row.component.rawValue, row.folder.path, inputs.path, ir.path,
                                                  "--threads", "\(threads)", "--prompt", BenchTable.prompt])
        } catch {
            reportFailure(row, "converting", error)
            return [.f32: .failed, .bf16: .failed]
        }
        struct Result: Decodable {
            let median: Double?, peakMB: Double?, unsupported: String?
            enum CodingKeys: String, CodingKey { case median, peakMB = "rss_mb", unsupported }
        }
        var outcomes: [Precision: Outcome] = [:]
        for precision in Precision.allCases {
            let output = work.appendingPathComponent("openvino-\(precision.rawValue).safetensors")
            do {
                let result: Result = try pytorch.script(["openvino", ir.path, output.path, "--precision", precision.rawValue,
                                                        "--threads", "\(threads)", "--runs", "\(runs)"])
                if let median = result.median, let peakMB = result.peakMB {
                    outcomes[precision] = .measured(Measurement(median: median, peakMB: peakMB), output: output)
                } else {
                    outcomes[precision] = .unsupported(result.unsupported ?? "not measured")
                }
            } catch {
                reportFailure(row, "running \(precision.rawValue)", error)
                outcomes[precision] = .failed
            }
        }
        return outcomes
    }

    private func reportFailure(_ row: BenchTable.Row, _ step: String, _ error: Error) {
        FileHandle.standardError.write(Data("OpenVINO, \(row.label), \(step): \(error)\n".utf8))
    }
}
