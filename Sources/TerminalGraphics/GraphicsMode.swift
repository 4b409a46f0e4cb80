/// How a picture reaches the terminal.
public enum GraphicsMode: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The kitty graphics protocol (kitty, WezTerm, Ghostty, Konsole): true-colour pixels,
    /// replaced in place by image id.
    case kitty
    /// DEC sixel graphics (xterm -ti vt340, foot, mlterm, WezTerm, Windows Terminal): pixels
    /// through a palette of up to 256 colours per image.
    case sixel
    /// iTerm2's inline images (iTerm2, WezTerm): a whole image file per picture.
    case iterm
    /// Character-cell art from block, border and quadrant symbols: finer than half blocks, on
    /// any terminal with colour and a Unicode font.
    case symbols
    /// One `▀` per cell, two pixels per cell: the most basic colour terminal art.
    case halfblocks

    /// Whether the terminal draws real pixels (otherwise: coloured text).
    public var drawsPixels: Bool {
        switch self {
        case .kitty, .sixel, .iterm: true
        case .symbols, .halfblocks: false
        }
    }

    public var description: String { rawValue }
}
