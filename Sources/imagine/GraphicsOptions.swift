import ArgumentParser
@preconcurrency import CCurses
import TerminalGraphics

/// `--graphics`: how pictures reach the terminal.
enum GraphicsChoice: String, CaseIterable, ExpressibleByArgument {
    case auto, kitty, sixel, iterm, symbols, halfblocks

    /// The mode the user chose, nil for `auto`.
    var mode: GraphicsMode? { GraphicsMode(rawValue: rawValue) }
}

struct GraphicsOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "How pictures reach the terminal: auto (ask the terminal), kitty, sixel or iterm (real pixels), "
            + "symbols or halfblocks (coloured characters, any terminal).", valueName: "mode"))
    var graphics: GraphicsChoice = .auto

    /// The mode for pictures written to `output`, with the terminal's colours and cell size.
    func detect(output: Int32) -> GraphicsDetection {
        TerminalProbe.detect(requested: graphics.mode, output: output, trueColorInTerminfo: terminfoHasRGB(output))
    }
}

/// terminfo's RGB flag for TERM (TERM=xterm-direct and the like), read without starting curses.
private func terminfoHasRGB(_ descriptor: Int32) -> Bool {
    var status: Int32 = 0
    if cur_term == nil {  // curses (imagine live) has already read it
        guard setupterm(nil, descriptor, &status) == OK else { return false }
    }
    return "RGB".withCString { tigetflag(UnsafeMutablePointer(mutating: $0)) } > 0
}
