import ImageIO

/// Turns pictures into terminal bytes in one `GraphicsMode`, either placed in a fixed region of
/// a full-screen interface (`imagine live`), where each picture replaces the last, or inline in
/// the scrolling output (`imagine show`, `imagine generate --show`).
///
/// It only produces bytes; the caller writes them, after its own screen updates, and puts the
/// cursor back where it belongs.
public final class PicturePresenter {
    public let mode: GraphicsMode
    public let colors: TerminalColors
    /// Cell size in pixels: sixel pictures are drawn at `columns × cell.width` pixels.
    public var cell: CellSize
    public let tmuxPassthrough: Bool
    /// The kitty image id of placed pictures: one id, so each picture replaces the last.
    let kittyImageID: UInt32 = 0x1A6E
    /// The last placed picture's cells, to clear what a smaller picture leaves uncovered.
    private(set) var placed: PictureLayout?

    public init(mode: GraphicsMode, colors: TerminalColors, cell: CellSize, tmuxPassthrough: Bool = false) {
        self.mode = mode
        self.colors = colors
        self.cell = cell
        self.tmuxPassthrough = tmuxPassthrough
    }

    public convenience init(_ detection: GraphicsDetection) {
        self.init(mode: detection.mode, colors: detection.colors, cell: detection.cellSize ?? .typical,
                  tmuxPassthrough: detection.tmuxPassthrough)
    }

    /// Draws `image` centred in `area` (cells, top-left at `area.column`, `area.row`), replacing
    /// the previous placed picture (and blanking what of it the new one does not cover). Placed
    /// pictures fill their area: previews are small and the pane is what a user looks at.
    public func place(_ image: RGBImage, in area: PictureLayout) throws -> [UInt8] {
        var target = PictureLayout.fitting(width: image.width, height: image.height,
                                           in: (area.columns, area.rows), cell: cell, enlarge: true)
        target.column += area.column
        target.row += area.row
        var out: [UInt8] = []
        if let placed, placed != target {
            out += clearing(placed)
        }
        out += Array("\u{1B}[0m".utf8)
        switch mode {
        case .symbols, .halfblocks:
            let lines = CellArt.lines(image, columns: target.columns, rows: target.rows, cell: cell,
                                      colors: colors, halfBlocksOnly: mode == .halfblocks)
            for (index, line) in lines.enumerated() {
                out += cursor(row: target.row + index, column: target.column) + line
            }
        case .kitty, .sixel, .iterm:
            out += cursor(row: target.row, column: target.column)
            out += try pixels(image, columns: target.columns, rows: target.rows, kittyID: kittyImageID)
        }
        placed = target
        return out
    }

    /// Removes the placed picture (kitty images outlive the text under them) and blanks its cells.
    public func removePlaced() -> [UInt8] {
        guard let placed else { return [] }
        self.placed = nil
        var out = clearing(placed)
        if mode == .kitty { out = passthrough(KittyImage.deletion(id: kittyImageID)) + out }
        return out
    }

    /// What removes placed pictures that would outlast the program (kitty keeps images until
    /// deleted; sixel, iTerm2 and text art go with the screen they are on), also when nothing was
    /// placed yet: written from a signal handler, it is prepared in advance.
    public func removalForExit() -> [UInt8] {
        mode == .kitty ? passthrough(KittyImage.deletion(id: kittyImageID)) : []
    }

    /// Forgets the placed picture without drawing (the caller cleared the whole screen; a kitty
    /// image left behind is replaced by the next, which has the same id).
    public func forgetPlaced() {
        placed = nil
    }

    /// `image` at the cursor in scrolling output, at most `maxColumns` × `maxRows` cells, followed
    /// by a newline: the cursor ends on the line below the picture, at column 1. Pixels are never
    /// drawn larger than the picture's own (a 64² icon stays 64²); character art fills the room,
    /// as its cells hold far fewer details than their pixels would.
    public func inline(_ image: RGBImage, maxColumns: Int, maxRows: Int) throws -> [UInt8] {
        let target = PictureLayout.fitting(width: image.width, height: image.height, in: (maxColumns, maxRows),
                                           cell: cell, enlarge: !mode.drawsPixels)
        switch mode {
        case .symbols, .halfblocks:
            let lines = CellArt.lines(image, columns: target.columns, rows: target.rows, cell: cell,
                                      colors: colors, halfBlocksOnly: mode == .halfblocks)
            return Array(lines.map { $0 + [0x0A] }.joined())
        case .kitty, .sixel, .iterm:
            // Make room first (scrolling if needed), go back up, and draw between saving and
            // restoring the cursor: where a terminal leaves it after a picture differs (kitty
            // beside it, xterm on the sixel's last band, which may reach into the next row).
            // Then step below the picture.
            var out = Array((String(repeating: "\n", count: target.rows) + "\u{1B}[\(target.rows)A\r\u{1B}7").utf8)
            out += try pixels(image, columns: target.columns, rows: target.rows, kittyID: nil)
            out += Array("\u{1B}8\u{1B}[\(target.rows)B\r".utf8)
            return out
        }
    }

    private func pixels(_ image: RGBImage, columns: Int, rows: Int, kittyID: UInt32?) throws -> [UInt8] {
        switch mode {
        case .kitty:
            return passthrough(KittyImage.bytes(image, columns: columns, rows: rows, id: kittyID))
        case .sixel:
            return passthrough(SixelImage.bytes(image, columns: columns, rows: rows, cell: cell))
        case .iterm:
            return passthrough(try ITermImage.bytes(image, columns: columns, rows: rows))
        case .symbols, .halfblocks:
            preconditionFailure("text art has no pixel sequence")
        }
    }

    private func passthrough(_ bytes: [UInt8]) -> [UInt8] {
        tmuxPassthrough ? TmuxPassthrough.wrapEach(bytes) : bytes
    }

    /// Blanks the cells of `layout` (ECH: erases without moving past the row; also erases the
    /// sixel and iTerm2 pixels drawn over them).
    private func clearing(_ layout: PictureLayout) -> [UInt8] {
        var out = Array("\u{1B}[0m".utf8)
        for row in layout.row..<(layout.row + layout.rows) {
            out += cursor(row: row, column: layout.column) + Array("\u{1B}[\(layout.columns)X".utf8)
        }
        return out
    }

    private func cursor(row: Int, column: Int) -> [UInt8] {
        Array("\u{1B}[\(row + 1);\(column + 1)H".utf8)
    }
}
