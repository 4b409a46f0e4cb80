/// Which way of drawing pictures a terminal gets under `--graphics auto`, decided from what the
/// terminal answered and, where it cannot be asked, from what the environment says.
public struct GraphicsDetection: Sendable, Equatable {
    public var mode: GraphicsMode
    public var colors: TerminalColors
    /// The cell size in pixels, when the terminal told.
    public var cellSize: CellSize?
    /// Pictures must be wrapped for tmux's passthrough to reach the terminal outside it.
    public var tmuxPassthrough: Bool
    /// A line for the user when they could have better pictures (tmux's passthrough off).
    public var hint: String?
    /// Keys typed while the terminal was being asked, read with its replies: an interactive
    /// program hands them on to its input (curses' `ungetch`), or they would be lost.
    public var typedMeanwhile: [UInt8] = []

    public init(mode: GraphicsMode, colors: TerminalColors, cellSize: CellSize?, tmuxPassthrough: Bool,
                hint: String? = nil) {
        self.mode = mode
        self.colors = colors
        self.cellSize = cellSize
        self.tmuxPassthrough = tmuxPassthrough
        self.hint = hint
    }

    /// What tmux says about itself and the terminal it runs in.
    public struct Tmux: Sendable, Equatable {
        /// `allow-passthrough` is `on` or `all` (tmux 3.3 and later; off by default).
        public var passthroughAllowed: Bool
        /// `#{client_termname}`: the outer terminal's TERM ("xterm-kitty", "foot", …).
        public var clientTermName: String
        /// `#{client_termtype}`: its XTVERSION/DA answer as tmux saw it ("kitty(0.26.5)", "XTerm(379)").
        public var clientTermType: String
        /// `#{client_termfeatures}`: features tmux detected ("sixel" among them when it knows).
        public var clientTermFeatures: String

        public init(passthroughAllowed: Bool, clientTermName: String, clientTermType: String,
                    clientTermFeatures: String) {
            self.passthroughAllowed = passthroughAllowed
            self.clientTermName = clientTermName
            self.clientTermType = clientTermType
            self.clientTermFeatures = clientTermFeatures
        }
    }

    /// Decides. The order is by picture quality: kitty (true colour, replaced in place), iTerm2
    /// (true colour), sixel (256-colour palette), then symbols.
    ///
    /// - replies: the terminal's answers to `TerminalProbe.queries` (inside tmux, tmux's own).
    /// - environment: hints for what cannot be asked (TERM_PROGRAM for iTerm2's protocol,
    ///   COLORTERM for true colour).
    /// - trueColorInTerminfo: terminfo's RGB flag for TERM.
    /// - tmux: set when running inside tmux.
    public static func decide(replies: TerminalReplies, environment: [String: String], trueColorInTerminfo: Bool,
                              tmux: Tmux?) -> GraphicsDetection {
        let colorterm = environment["COLORTERM"]?.lowercased() ?? ""
        let colors: TerminalColors = colorterm == "truecolor" || colorterm == "24bit" || trueColorInTerminfo
            || tmux?.clientTermFeatures.split(separator: ",").contains("RGB") == true ? .trueColor : .palette256
        if let tmux {
            let outer = tmux.clientTermName + " " + tmux.clientTermType
            let pixelMode = graphicsMode(kitty: outer.lowercased().contains("kitty") || outer.contains("ghostty"),
                                         itermName: outer, sixel: tmux.clientTermFeatures.split(separator: ",").contains("sixel")
                                            || knownSixelTerminal(outer))
            guard let pixelMode else {
                return GraphicsDetection(mode: .symbols, colors: colors, cellSize: nil, tmuxPassthrough: false)
            }
            guard tmux.passthroughAllowed else {
                return GraphicsDetection(mode: .symbols, colors: colors, cellSize: nil, tmuxPassthrough: false,
                                         hint: passthroughHint(pixelMode))
            }
            return GraphicsDetection(mode: pixelMode, colors: colors, cellSize: replies.cellSize, tmuxPassthrough: true)
        }
        let itermName = [environment["TERM_PROGRAM"], environment["LC_TERMINAL"], replies.terminalVersion]
            .compactMap { $0 }.joined(separator: " ")
        let mode = graphicsMode(kitty: replies.kittyGraphics, itermName: itermName, sixel: replies.sixel) ?? .symbols
        return GraphicsDetection(mode: mode, colors: colors, cellSize: replies.cellSize, tmuxPassthrough: false)
    }

    /// What to tell a user whose tmux keeps `mode`'s pictures from the terminal.
    static func passthroughHint(_ mode: GraphicsMode) -> String {
        "tmux hides \(mode) graphics: `tmux set -g allow-passthrough on` lets them through"
    }

    private static func graphicsMode(kitty: Bool, itermName: String, sixel: Bool) -> GraphicsMode? {
        if kitty { return .kitty }
        // Terminals that implement iTerm2's inline images but not the kitty protocol (or not by
        // default: WezTerm); they do not answer a query for it, so they are known by name.
        if ["iTerm", "WezTerm", "mintty"].contains(where: { itermName.contains($0) }) { return .iterm }
        if sixel { return .sixel }
        return nil
    }

    /// Outer terminals inside tmux that draw sixels when tmux does not list the feature itself.
    private static func knownSixelTerminal(_ name: String) -> Bool {
        ["foot", "mlterm", "contour", "vt340"].contains { name.contains($0) }
    }
}
