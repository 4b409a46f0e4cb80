import ArgumentParser
import Foundation
import Kernels
import Models

/// `imagine bench table`: every component of a model, ours against PyTorch in the same run.
struct BenchTable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table",
        abstract: "Time every component of a model against PyTorch on the same weights, in one run.",
        discussion: """
            Rows: the text encoder (77 tokens), the U-Net at each --sizes (batch 1, and batch 2 \
            — what classifier-free guidance runs — at the first size), the VAE decoder and the \
            tiny decoder (when the model has vae_tiny/) at each size. Each measurement runs in \
            its own process, so its peak RSS is its own: ours through `imagine bench`, PyTorch \
            through a script this binary carries, with diffusers/transformers (the Python of \
            --python, else $IMAGINE_PYTHON, else ~/.venvs/imagine/bin/python), once with glibc \
            malloc as people run it and once tuned (MALLOC_MMAP_MAX_=0 …). Both sides read the \
            same inputs; the error column is max |ours − PyTorch| / max |PyTorch|. Ratios below \
            1 mean we are faster. Without a usable Python only our columns are printed.

            Random full-size weights for this: Tests/Fixtures/make_fullsize_models.py.

            EXAMPLES
              imagine bench table /tmp/imagine-fullsize/sd-turbo --threads 2
              env -u OPENBLAS_CORETYPE imagine bench table ~/models/sd15 --sizes 512 --runs 5
            """)

    @Argument(help: ArgumentHelp("A diffusers folder.", valueName: "model"))
    var model: String

    @Option(help: ArgumentHelp("Image sizes in pixels, comma-separated.", valueName: "list"))
    var sizes = "256,512"

    @Option(help: "Timed runs per measurement (after one warm-up run).")
    var runs = 3

    @Option(help: ArgumentHelp("The Python with torch, diffusers and transformers.", valueName: "path"))
    var python: String?

    @Flag(help: "Measure only our side.")
    var noPytorch = false

    /// Our side's; PyTorch stays fp32, so with bf16 the error column is what bf16 costs.
    @OptionGroup var precisionOptions: PrecisionOptions

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1, got \(runs)") }
        if parsedSizes == nil { throw ValidationError("--sizes must be positive multiples of 8, comma-separated, got '\(sizes)'") }
    }

    private var parsedSizes: [Int]? {
        let values = sizes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! > 0 && $0! % 8 == 0 }) else { return nil }
        return values.map { $0! }
    }

    func run() throws {
        let root = URL(fileURLWithPath: model)
        let threads = threadOptions.threads ?? Threads.defaultCount()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("imagine-bench-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let reference = noPytorch ? nil : PyTorchReference(python: python)
        let rows = try plannedRows(root: root)
        if rows.isEmpty { throw ValidationError("\(model) has none of text_encoder/, unet/, vae/, vae_tiny/") }

        emit("\(root.lastPathComponent): \(threads) threads, \(runs) runs per median, ours in \(precisionOptions.resolved().rawValue), "
             + "\(BLASKernelSelection.description)")
        emit(reference.map { "PyTorch: \($0.python) (\($0.version))" }
              ?? "PyTorch: not measured (\(noPytorch ? "--no-pytorch" : PyTorchReference.missingReason(python: python)))")
        emit("| component | ours | PyTorch | ratio | PyTorch, tuned malloc | ratio | error | RSS ours | RSS PyTorch |")
        emit("|---|---|---|---|---|---|---|---|---|")
        for row in rows {
            let inputs = work.appendingPathComponent("inputs-\(row.slug).safetensors")
            try row.writeInputs(to: inputs)
            let ours = try measureOurs(row, inputs: inputs, output: work.appendingPathComponent("ours.safetensors"), threads: threads)
            var cells = [row.label, duration(ours.seconds)]
            var error = "–", referenceRSS = "–"
            if let reference {
                let output = work.appendingPathComponent("torch.safetensors")
                let plain = try reference.measure(row, inputs: inputs, output: output, threads: threads, runs: runs, tunedMalloc: false)
                let tuned = try reference.measure(row, inputs: inputs, output: output, threads: threads, runs: runs, tunedMalloc: true)
                cells += [duration(plain.seconds), String(format: "**%.2f**", ours.seconds / plain.seconds),
                          duration(tuned.seconds), String(format: "**%.2f**", ours.seconds / tuned.seconds)]
                error = String(format: "%.1e", try relativeError(ours: ours.output, outputKey: row.ourOutputKey, reference: output))
                referenceRSS = String(format: "%.0f MB", max(plain.peakMB, tuned.peakMB))
            } else {
                cells += ["–", "–", "–", "–"]
            }
            cells += [error, String(format: "%.0f MB", ours.peakMB), referenceRSS]
            emit("| " + cells.joined(separator: " | ") + " |")
        }
    }

    /// One line of the table.
    struct Row {
        enum Component: String { case textEncoder = "text-encoder", unet, vae, taesd }
        let component: Component
        let folder: URL
        let size: Int
        let batch: Int
        /// The U-Net's cross-attention width (its context input).
        let contextWidth: Int

        var label: String {
            switch component {
            case .textEncoder: return "text encoder, 77 tokens"
            case .unet: return "U-Net \(size / 8)×\(size / 8) latent (\(size)²)" + (batch > 1 ? ", batch \(batch)" : "")
            case .vae: return "VAE decode \(size)²"
            case .taesd: return "TAESD decode \(size)²"
            }
        }
        var slug: String { "\(component.rawValue)-\(size)-\(batch)" }
        var ourOutputKey: String { component == .textEncoder ? "last_hidden_state" : "output" }

        /// Seeded inputs both sides read (the text encoder takes the prompt instead).
        func writeInputs(to url: URL) throws {
            var generator = TorchGenerator(seed: UInt64(size + batch))
            let latents = generator.randn([batch, 4, size / 8, size / 8])
            var tensors = [("latents", latents)]
            if component == .unet {
                tensors = [("sample", latents),
                           ("encoder_hidden_states", generator.randn([batch, 77, contextWidth])),
                           ("timestep", Tensor(shape: [1], data: [999]))]
            }
            try SafetensorsWriter.write(tensors, to: url)
        }
    }

    static let prompt = "a photograph of an astronaut riding a horse on the moon, highly detailed, 8k"

    private func plannedRows(root: URL) throws -> [Row] {
        let fm = FileManager.default
        func has(_ name: String) -> Bool { fm.fileExists(atPath: root.appendingPathComponent(name).appendingPathComponent("config.json").path) }
        let sizes = parsedSizes!
        var rows: [Row] = []
        if has("text_encoder") {
            rows.append(Row(component: .textEncoder, folder: root, size: 0, batch: 1, contextWidth: 0))
        }
        if has("unet") {
            let unet = root.appendingPathComponent("unet")
            let width = try reportingErrors { try UNetConfig(contentsOf: unet.appendingPathComponent("config.json")).crossAttentionDim }
            for size in sizes { rows.append(Row(component: .unet, folder: unet, size: size, batch: 1, contextWidth: width)) }
            rows.append(Row(component: .unet, folder: unet, size: sizes[0], batch: 2, contextWidth: width))
        }
        for (name, component) in [("vae", Row.Component.vae), ("vae_tiny", .taesd)] where has(name) {
            for size in sizes {
                rows.append(Row(component: component, folder: root.appendingPathComponent(name), size: size, batch: 1, contextWidth: 0))
            }
        }
        return rows
    }

    /// Ours, in a child `imagine bench` process (its own peak RSS).
    private func measureOurs(_ row: Row, inputs: URL, output: URL, threads: Int) throws
        -> (seconds: Double, peakMB: Double, output: URL) {
        var arguments = ["bench"]
        switch row.component {
        case .textEncoder:
            arguments += ["text-encoder", row.folder.path, "--prompt", Self.prompt]
        case .unet, .vae, .taesd:
            let name = [Row.Component.unet: "unet", .vae: "vae", .taesd: "tiny-decoder"][row.component]!
            arguments += ["component", name, row.folder.path, "--size", "\(row.size)", "--batch", "\(row.batch)",
                          "--inputs", inputs.path]
        }
        arguments += ["--runs", "\(runs)", "--threads", "\(threads)", "--precision", precisionOptions.resolved().rawValue,
                      "--save-output", output.path]
        let text = try runChild(executable: Bundle.main.executableURL!, arguments: arguments, environment: [:])
        guard let seconds = number(after: "median ", in: text), let peak = number(after: "peak RSS ", in: text) else {
            throw ValidationError("could not read `imagine \(arguments.joined(separator: " "))`'s output:\n\(text)")
        }
        return (seconds, peak, output)
    }

    private func relativeError(ours: URL, outputKey: String, reference: URL) throws -> Double {
        let a = try SafetensorsFile(url: ours).tensor(outputKey), b = try SafetensorsFile(url: reference).tensor("output")
        guard a.count == b.count else { throw ValidationError("outputs differ in shape: \(a.shape) vs \(b.shape)") }
        var difference: Float = 0, magnitude: Float = 0
        for i in 0..<a.count {
            difference = max(difference, abs(a.data[i] - b.data[i]))
            magnitude = max(magnitude, abs(b.data[i]))
        }
        return Double(difference / magnitude)
    }
}

/// PyTorch through `TorchBenchScript`.
struct PyTorchReference {
    let python: String
    let version: String

    /// Glibc malloc tuned as `Memory.reuseFreedBlocks` tunes ours: no mmap'd blocks, no trimming,
    /// a 1 GB top pad, so the comparison is not one of allocators.
    static let tunedMalloc = ["MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "137438953472", "MALLOC_TOP_PAD_": "1073741824"]

    /// The first Python that imports torch, diffusers and transformers.
    init?(python explicit: String?) {
        for python in Self.candidates(explicit) {
            if let version = Self.version(of: python) {
                self.python = python
                self.version = version
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

    private static func version(of python: String) -> String? {
        let probe = "import torch, diffusers, transformers; print(f'torch {torch.__version__}, diffusers {diffusers.__version__}')"
        return try? runChild(executable: URL(fileURLWithPath: python), arguments: ["-c", probe], environment: [:])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func measure(_ row: BenchTable.Row, inputs: URL, output: URL, threads: Int, runs: Int, tunedMalloc: Bool) throws
        -> (seconds: Double, peakMB: Double) {
        let arguments = ["-c", TorchBenchScript.source, row.component.rawValue, row.folder.path, inputs.path, output.path,
                         "--threads", "\(threads)", "--runs", "\(runs)", "--prompt", BenchTable.prompt]
        let text = try runChild(executable: URL(fileURLWithPath: python), arguments: arguments,
                                environment: tunedMalloc ? Self.tunedMalloc : [:])
        struct Result: Decodable { let median: Double; let rss_mb: Double }
        guard let line = text.split(separator: "\n").last,
              let result = try? JSONDecoder().decode(Result.self, from: Data(line.utf8)) else {
            throw ValidationError("could not read the PyTorch script's output:\n\(text)")
        }
        return (result.median, result.rss_mb)
    }
}

/// Runs a program to completion; its standard output, or an error with its standard error.
func runChild(executable: URL, arguments: [String], environment: [String: String]) throws -> String {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Drain standard error on the side: a child that fills one pipe while we wait on the other
    // would block forever.
    final class Collected: @unchecked Sendable { var data = Data() }
    let errors = Collected(), drained = DispatchGroup()
    DispatchQueue.global().async(group: drained) { errors.data = err.fileHandleForReading.readDataToEndOfFile() }
    let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
    drained.wait()
    let stderrData = errors.data
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ValidationError("\(executable.lastPathComponent) \(arguments.prefix(3).map { $0.contains("\n") ? "<script>" : $0 }.joined(separator: " ")) … failed "
            + "(exit \(process.terminationStatus)):\n\(String(decoding: stderrData, as: UTF8.self))")
    }
    return String(decoding: stdoutData, as: UTF8.self)
}

/// "1.234 s", or "12.3 ms" below a second.
private func duration(_ seconds: Double) -> String {
    seconds >= 1 ? String(format: "%.3f s", seconds) : String(format: "%.1f ms", seconds * 1000)
}

/// A line on standard output, written at once (rows appear as they are measured, also into a pipe).
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// The number right after `marker` in `text` ("median 0.8027 s" → 0.8027).
private func number(after marker: String, in text: String) -> Double? {
    guard let range = text.range(of: marker) else { return nil }
    let digits = text[range.upperBound...].prefix { $0.isNumber || $0 == "." }
    return Double(digits)
}
