/// How many colours a terminal's text can take.
public enum TerminalColors: Sendable, Equatable {
    /// `ESC[38;2;r;g;bm`, for terminals that say so (COLORTERM, terminfo's RGB flag).
    case trueColor
    /// xterm's 256-colour palette (`ESC[38;5;nm`), without the 16 entries terminals theme.
    case palette256
}
