import ArgumentParser
import Kernels

/// `--threads`, shared by every command that computes.
struct ThreadOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(
        "Threads for our loops and OpenBLAS (default: IMAGINE_THREADS, else every core).",
        valueName: "n"))
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// Applies the choice, and sets malloc up for the model's activation buffers; call once
    /// before any work.
    func apply() {
        Threads.configure(threads ?? Threads.defaultCount())
        Memory.reuseFreedBlocks()
    }
}
