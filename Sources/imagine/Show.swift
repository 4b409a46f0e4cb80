import ArgumentParser
import Foundation

/// `imagine show`: PNGs in the terminal, as real pixels where the terminal can draw them.
struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show PNG files in the terminal.",
        discussion: """
            Each picture is drawn in pixels at its own size when the terminal is large enough, \
            else scaled down to fit (character art fills the terminal), followed by its file name \
            and size. --graphics auto asks the terminal \
            what it can draw: the kitty graphics protocol (kitty, WezTerm with kitty graphics, \
            Ghostty, Konsole), iTerm2 inline images (iTerm2, WezTerm, mintty) or sixel (xterm \
            -ti vt340, foot, mlterm, Windows Terminal), else coloured symbols. Inside tmux, \
            pixels need `set -g allow-passthrough on`. A file that cannot be read is reported and \
            the rest are still shown; the exit status is then 1.

            EXAMPLES
              imagine show out/*.png
              imagine show --graphics symbols picture.png
            """)

    @Argument(help: ArgumentHelp("PNG files.", valueName: "file"))
    var files: [String]

    @OptionGroup var graphicsOptions: GraphicsOptions

    func run() throws {
        let viewer = PictureViewer(graphicsOptions: graphicsOptions, descriptor: STDOUT_FILENO)
        var failed = false
        for file in files {
            do {
                // Two rows stay free: the caption and the shell's next prompt.
                try viewer.show(file, rowsBelow: 2) { "\(file) (\($0.width)×\($0.height))" }
            } catch {
                printError("error: \(error)")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}
