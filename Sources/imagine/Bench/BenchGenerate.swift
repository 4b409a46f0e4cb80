import ArgumentParser
import Foundation
import Kernels

/// `imagine bench generate`: the whole process — start, load, text, sampling, decode, PNG — as a
/// person runs it, ours against diffusers in the same run.
struct BenchGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Time one whole `imagine generate` process against diffusers' pipeline, in one run.",
        discussion: """
            Runs `imagine generate` (as installed: --precision auto unless given) and diffusers' \
            StableDiffusionPipeline (fp32, through a script this binary carries, with the Python \
            of --python, else $IMAGINE_PYTHON, else ~/.venvs/imagine/bin/python) on the same \
            diffusers folder, prompt, seed, steps, guidance and size, alternating, --runs times \
            each. Each run is a fresh process, timed from start to exit (loading included, as a \
            person waits for it), with its peak RSS. Prints medians, the ratio (below 1: we are \
            faster) and the PSNR between the two pictures (same seed: the same starting noise).

            EXAMPLES
              imagine bench generate /tmp/imagine-fullsize/sd-turbo --steps 4 --cfg 0 --size 512
              imagine bench generate ~/models/sd15 --steps 20 --size 512 --runs 1
            """)

    @Argument(help: ArgumentHelp("A diffusers folder.", valueName: "model"))
    var model: String

    @Option(help: "Sampler steps.")
    var steps = 4

    @Option(help: "Classifier-free guidance scale (1 or less: none).")
    var cfg: Float = 0

    @Option(help: "Image size in pixels (square, a multiple of 8).")
    var size = 512

    @Option(help: "Seed of the starting noise (both sides draw it as torch.Generator does).")
    var seed = 1

    @Option(help: "Runs per side.")
    var runs = 3

    @Option(help: ArgumentHelp("The Python with torch and diffusers.", valueName: "path"))
    var python: String?

    @OptionGroup var precisionOptions: PrecisionOptions

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1, got \(runs)") }
        if steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if size < 8 || size % 8 != 0 { throw ValidationError("--size must be a positive multiple of 8, got \(size)") }
    }

    func run() throws {
        let threads = threadOptions.threads ?? Threads.defaultCount()
        guard let reference = PyTorchReference(python: python) else {
            throw ValidationError(PyTorchReference.missingReason(python: python))
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("imagine-bench-generate-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        let precision = precisionOptions.precision ?? .auto
        let oursArguments = ["generate", "--model", model, "--steps", "\(steps)", "--cfg", "\(cfg)",
                             "--width", "\(size)", "--height", "\(size)", "--seed", "\(seed)",
                             "--threads", "\(threads)", "--precision", precision.rawValue,
                             "--out-dir", work.appendingPathComponent("ours").path, BenchTable.prompt]
        let theirPNG = work.appendingPathComponent("diffusers.png")
        let theirArguments = ["-c", DiffusersGenerateScript.source, model, BenchTable.prompt, theirPNG.path,
                              "--steps", "\(steps)", "--cfg", "\(cfg)", "--size", "\(size)", "--seed", "\(seed)",
                              "--threads", "\(threads)"]

        emit("\(URL(fileURLWithPath: model).lastPathComponent): \(steps) steps, \(size)², cfg \(cfg), seed \(seed), "
             + "\(threads) threads, \(runs) runs per side; ours --precision \(precision.rawValue) "
             + "(\(precisionOptions.resolved(.auto).rawValue)), \(BLASKernelSelection.description)")
        emit("diffusers: \(reference.python) (\(reference.version)), fp32")
        var ours: [MeasuredRun] = [], theirs: [MeasuredRun] = []
        var psnr: Double?
        for run in 0..<runs {
            // Clear ours, so the PNG diffusers compares against is this run's.
            try? FileManager.default.removeItem(at: work.appendingPathComponent("ours"))
            ours.append(try MeasuredRun(Bundle.main.executableURL!, oursArguments, work: work))
            let ourPNG = try FileManager.default
                .contentsOfDirectory(at: work.appendingPathComponent("ours"), includingPropertiesForKeys: nil)
                .first { $0.pathExtension == "png" }
            let compare = run == 0 ? ourPNG.map { ["--compare", $0.path] } ?? [] : []
            let measured = try MeasuredRun(URL(fileURLWithPath: reference.python), theirArguments + compare, work: work)
            theirs.append(measured)
            // Python's json writes identical pictures' PSNR as Infinity.
            if run == 0 { psnr = measured.output.contains("\"psnr_db\": Infinity") ? .infinity
                                 : number(after: "\"psnr_db\": ", in: measured.output) }
        }
        let ourMedian = median(ours.map(\.seconds)), theirMedian = median(theirs.map(\.seconds))
        emit("| whole process | median | min | peak RSS |")
        emit("|---|---|---|---|")
        for (name, runs, middle) in [("imagine generate", ours, ourMedian), ("diffusers", theirs, theirMedian)] {
            emit(String(format: "| %@ | %.2f s | %.2f s | %.0f MB |", name, middle, runs.map(\.seconds).min()!,
                        runs.map(\.peakMB).max()!))
        }
        emit(String(format: "ratio ours / diffusers: **%.2f**; pictures %@", ourMedian / theirMedian,
                    psnr.map { $0.isInfinite ? "identical" : String(format: "%.1f dB PSNR apart", $0) }
                        ?? "not compared"))
    }
}

/// One child process run to its end: wall time from spawn to exit and its peak RSS (from wait4's
/// resource usage: the child's own high-water mark, whatever else this process ran).
struct MeasuredRun {
    let seconds: Double
    let peakMB: Double
    let output: String

    init(_ executable: URL, _ arguments: [String], work: URL) throws {
        let outputFile = work.appendingPathComponent("child-output.txt")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let start = DispatchTime.now()
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable.path, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw ValidationError("cannot start \(executable.path): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        peakMB = Double(usage.ru_maxrss) / 1024  // kilobytes on Linux
        output = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        // Exited normally with 0: WIFEXITED and WEXITSTATUS, which Swift does not import.
        guard status & 0x7f == 0 && (status >> 8) & 0xff == 0 else {
            throw ValidationError("\(executable.lastPathComponent) \(arguments.prefix(2).map { $0.contains("\n") ? "<script>" : $0 }.joined(separator: " ")) … failed:\n\(output)")
        }
    }

}

/// The middle value (the upper one of an even count), as every `bench` median is taken.
