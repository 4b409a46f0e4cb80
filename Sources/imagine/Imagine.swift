import ArgumentParser
import Foundation

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
              imagine inspect ~/models/sd-turbo
              imagine bench text-encoder ~/models/sd-turbo --threads 2
            """,
        subcommands: [Generate.self, LiveCommand.self, Inspect.self, Bench.self])

    static func main() {
        // A reader that went away (`| head`) then fails our write with EPIPE, reported as an
        // error, instead of killing the process without a word.
        signal(SIGPIPE, SIG_IGN)
        main(nil)
    }
}
