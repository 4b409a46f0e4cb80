import ArgumentParser
import Foundation
import Kernels

@main
struct Imagine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imagine",
        abstract: "Text-to-image on the CPU: prompt files to PNGs, or a live preview as you type.",
        discussion: """
            Models are diffusers folders or single .safetensors files. Threads default to every \
            core; set --threads or IMAGINE_THREADS to change that.

            EXAMPLES
              imagine generate --model ~/models/sd15 "a lighthouse at dusk"
              imagine show out/*.png
              imagine inspect ~/models/sd-turbo
              imagine bench text-encoder ~/models/sd-turbo --threads 2
            """,
        subcommands: [Generate.self, LiveCommand.self, Show.self, Inspect.self, Bench.self])

    /// The release this binary was built from.
    static let release = "0.1.0"

    @Flag(help: "Show the version, this CPU, the kernels in use and the precision `auto` picks here.")
    var version = false

    func run() throws {
        guard version else { throw CleanExit.helpRequest(self) }
        Threads.configureDefault()
        print("""
            imagine \(Self.release)
            CPU: \(CPUFeatures.current.description), \(Threads.count) threads
            fp32 products: \(BLASKernelSelection.description)
            precision auto: \(AutomaticPrecision.current.description)
            """)
    }

    static func main() {
        // Before anything else: this may run the program again with other OpenBLAS kernels.
        BLASKernelSelection.reexecuteForBestKernels()
        // A reader that went away (`| head`) then fails our write with EPIPE, reported as an
        // error, instead of killing the process without a word.
        signal(SIGPIPE, SIG_IGN)
        main(nil)
    }
}
