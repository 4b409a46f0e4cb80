import ArgumentParser
import Kernels
import Models

@main
struct Imagine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imagine",
        abstract: "Text-to-image on the CPU: batch prompt files to PNGs, or a live preview as you type.",
        subcommands: [Inspect.self])
}
