import ArgumentParser
import Foundation
import Kernels
import Models

/// `imagine bench table`: every component of a model, ours against PyTorch in the same run.
struct BenchTable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table",
        abstract: "Time every component of a model against PyTorch and OpenVINO on the same weights, in one run.",
        discussion: """
            Rows: the text encoder (77 tokens; SDXL's second one in a row of its own), the U-Net \
            at each --sizes (batch 1, and batch 2 — what classifier-free guidance runs — at the \
            first size), the VAE decoder and the tiny decoder (when the model has vae_tiny/) at \
            each size; a model whose vae/ is itself an AutoencoderTiny (SDXS) has that one's row \
            alone. Labels name the U-Net's family (SD 1.x, SD 2.x, SDXL by the text it attends \
            to) and parameter count; an SDXL U-Net gets the same random pooled text and this \
            size's time ids on every side (diffusers' added_cond_kwargs). Each measurement runs in \
            its own process, so its peak RSS is its own: ours through `imagine bench`, the \
            references through a script this binary carries, in the Python of --python, else \
            $IMAGINE_PYTHON, else ~/.venvs/imagine/bin/python (with torch, diffusers, \
            transformers). PyTorch runs fp32, once with glibc malloc as people run it and once \
            tuned (MALLOC_MMAP_MAX_=0 …). OpenVINO (when that Python imports openvino) runs \
            openvino.convert_model on the very same PyTorch module and inputs, compiled for the \
            CPU with --threads, one stream, the LATENCY hint, at f32 and at bf16; our ratio is to \
            the one at our --precision (a CPU without bf16 says so in its cell). All sides read the \
            same inputs; each error column is max |x − PyTorch| / max |PyTorch|. Ratios below 1 \
            mean we are faster. An engine that cannot run prints "–" and the line above the \
            table says why.

            Random full-size weights for this: Tests/Fixtures/make_fullsize_models.py.

            EXAMPLES
              imagine bench table /tmp/imagine-fullsize/sd-turbo --threads 2
              imagine bench table /tmp/imagine-fullsize/sdxl-turbo --sizes 512 --no-guided-batch
              imagine bench table /tmp/imagine-fullsize/sdxl-turbo --sizes 512 --components unet --precision bf16
              env -u OPENBLAS_CORETYPE imagine bench table ~/models/sd15 --sizes 512 --runs 5
            """)

    @Argument(help: ArgumentHelp("A diffusers folder.", valueName: "model"))
    var model: String

    @Option(help: ArgumentHelp("Image sizes in pixels, comma-separated.", valueName: "list"))
    var sizes = "256,512"

    @Option(help: "Timed runs per measurement (after one warm-up run).")
    var runs = 3

    @Option(help: ArgumentHelp("Rows to measure, comma-separated: text-encoder (both of SDXL's), unet, vae, taesd "
                               + "(the tiny decoder, vae_tiny/ or an AutoencoderTiny vae/).", valueName: "list"))
    var components = "text-encoder,unet,vae,taesd"

    @Flag(inversion: .prefixedNo,
          help: "Also time the U-Net at batch 2 (what classifier-free guidance runs) at the first size.")
    var guidedBatch = true

    @Option(help: ArgumentHelp("The Python with torch, diffusers and transformers (and openvino).", valueName: "path"))
    var python: String?

    @Flag(help: "Leave PyTorch out.")
    var noPytorch = false

    @Flag(help: "Leave OpenVINO out.")
    var noOpenvino = false

    /// Our side's; PyTorch stays fp32, so with bf16 the error column is what bf16 costs. OpenVINO
    /// runs both precisions, and ours is compared with the equal one.
    @OptionGroup var precisionOptions: PrecisionOptions

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1, got \(runs)") }
        if parsedSizes == nil { throw ValidationError("--sizes must be positive multiples of 8, comma-separated, got '\(sizes)'") }
        if parsedComponents == nil {
            throw ValidationError("--components takes text-encoder, unet, vae and taesd, comma-separated, got '\(components)'")
        }
    }

    private var parsedComponents: Set<Row.Component>? {
        let names = components.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let parts = names.compactMap { Row.Component(rawValue: $0) }.filter { $0 != .textEncoder2 }
        return parts.isEmpty || parts.count != names.count ? nil : Set(parts)
    }

    private var parsedSizes: [Int]? {
        let values = sizes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! > 0 && $0! % 8 == 0 }) else { return nil }
        return values.map { $0! }
    }

    func run() throws {
        let root = URL(fileURLWithPath: model)
        let threads = threadOptions.threads ?? Threads.defaultCount()
        let precision = precisionOptions.resolved()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("imagine-bench-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        // OpenVINO converts from PyTorch's modules: it needs PyTorch's Python even with --no-pytorch.
        let python = noPytorch && noOpenvino ? nil : PyTorchReference(python: self.python)
        let pytorch = noPytorch ? nil : python
        let openvino = noOpenvino ? nil : python.flatMap(OpenVINOReference.init)
        let rows = try Self.plannedRows(root: root, sizes: parsedSizes!, parts: parsedComponents!, guidedBatch: guidedBatch)
        if rows.isEmpty { throw ValidationError("\(model) has none of text_encoder/, unet/, vae/, vae_tiny/ (of --components \(components))") }

        emit("\(root.lastPathComponent): \(threads) threads, \(runs) runs per median, ours in \(precision.rawValue), "
             + "\(BLASKernelSelection.description)")
        let noPython = PyTorchReference.missingReason(python: self.python)
        emit(pytorch.map { "PyTorch: \($0.python) (\($0.version))" }
              ?? "PyTorch: not measured (\(noPytorch ? "--no-pytorch" : noPython))")
        emit(openvino.map { "OpenVINO: \($0.version) in \($0.pytorch.python), converted from the PyTorch modules" }
              ?? "OpenVINO: not measured (\(noOpenvino ? "--no-openvino" : python.map(OpenVINOReference.missingReason) ?? noPython))")
        let columns = BenchTableColumns(oursBF16: precision == .bf16)
        emit("| " + columns.header.joined(separator: " | ") + " |")
        emit("|" + String(repeating: "---|", count: columns.header.count))
        for row in rows {
            let inputs = work.appendingPathComponent("inputs-\(row.slug).safetensors")
            try row.writeInputs(to: inputs)
            let ours = try measureOurs(row, inputs: inputs, output: work.appendingPathComponent("ours.safetensors"),
                                       threads: threads, precision: precision)
            var cells = BenchTableColumns.Cells(label: row.label, ours: ours.seconds, oursMB: ours.peakMB)
            var reference: URL?
            if let pytorch {
                let output = work.appendingPathComponent("torch.safetensors")
                cells.pytorch = try pytorch.measure(row, inputs: inputs, output: output, threads: threads, runs: runs, tunedMalloc: false)
                cells.pytorchTuned = try pytorch.measure(row, inputs: inputs, output: output, threads: threads, runs: runs, tunedMalloc: true)
                cells.error = try relativeError(ours.output, key: row.ourOutputKey, reference: output)
                reference = output
            }
            if let openvino {
                cells.openvino = try openvino.measure(row, inputs: inputs, work: work, threads: threads, runs: runs).mapValues { outcome in
                    guard case .measured(_, let output) = outcome, let reference else { return (outcome, nil) }
                    return (outcome, try relativeError(output, key: "output", reference: reference))
                }
            }
            emit("| " + columns.cells(cells).joined(separator: " | ") + " |")
        }
    }

    static let prompt = "a photograph of an astronaut riding a horse on the moon, highly detailed, 8k"

    /// Ours, in a child `imagine bench` process (its own peak RSS).
    private func measureOurs(_ row: Row, inputs: URL, output: URL, threads: Int, precision: Precision) throws
        -> (seconds: Double, peakMB: Double, output: URL) {
        var arguments = ["bench"]
        switch row.component {
        case .textEncoder:
            arguments += ["text-encoder", row.folder.path, "--prompt", Self.prompt]
        case .textEncoder2:
            arguments += ["text-encoder", row.folder.appendingPathComponent("text_encoder_2").path,
                          "--tokenizer", row.folder.appendingPathComponent("tokenizer_2").path, "--prompt", Self.prompt]
        case .unet, .vae, .taesd:
            let name = [Row.Component.unet: "unet", .vae: "vae", .taesd: "tiny-decoder"][row.component]!
            arguments += ["component", name, row.folder.path, "--size", "\(row.size)", "--batch", "\(row.batch)",
                          "--inputs", inputs.path]
        }
        arguments += ["--runs", "\(runs)", "--threads", "\(threads)", "--precision", precision.rawValue,
                      "--save-output", output.path]
        let text = try runChild(executable: Bundle.main.executableURL!, arguments: arguments, environment: [:])
        guard let seconds = number(after: "median ", in: text), let peak = number(after: "peak RSS ", in: text) else {
            throw ValidationError("could not read `imagine \(arguments.joined(separator: " "))`'s output:\n\(text)")
        }
        return (seconds, peak, output)
    }

    /// max |output − PyTorch| / max |PyTorch|.
    private func relativeError(_ output: URL, key: String, reference: URL) throws -> Double {
        let a = try SafetensorsFile(url: output).tensor(key), b = try SafetensorsFile(url: reference).tensor("output")
        guard a.count == b.count else { throw ValidationError("outputs differ in shape: \(a.shape) vs \(b.shape)") }
        var difference: Float = 0, magnitude: Float = 0
        for i in 0..<a.count {
            difference = max(difference, abs(a.data[i] - b.data[i]))
            magnitude = max(magnitude, abs(b.data[i]))
        }
        return Double(difference / magnitude)
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
        throw ValidationError("\(executable.lastPathComponent) \(arguments.prefix(4).map { $0.contains("\n") ? "<script>" : $0 }.joined(separator: " ")) … failed "
            + "(exit \(process.terminationStatus)):\n\(String(decoding: stderrData, as: UTF8.self))")
    }
    return String(decoding: stdoutData, as: UTF8.self)
}

/// A line on standard output, written at once (rows appear as they are measured, also into a pipe).
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// The number right after `marker` in `text` ("median 0.8027 s" → 0.8027).
func number(after marker: String, in text: String) -> Double? {
    guard let range = text.range(of: marker) else { return nil }
    let digits = text[range.upperBound...].prefix { $0.isNumber || $0 == "." }
    return Double(digits)
}
