internal import CChafa
import ImageIO

/// A picture as coloured character cells (symbols or half blocks), encoded by libchafa: it picks,
/// per cell, the glyph and the two colours that best reproduce the cell's pixels.
enum CellArt {
    // The glyph sets, made once (chafa prepares each glyph's coverage bitmap) rather than per
    // picture; never changed after, so safe to share between threads.

    /// chafa's own default: blocks, box-drawing borders and space, without glyphs that span two
    /// cells or need the terminal's reverse video.
    nonisolated(unsafe) private static let symbols: OpaquePointer = {
        let map = chafa_symbol_map_new()!
        chafa_symbol_map_add_by_tags(
            map, ChafaSymbolTags(CHAFA_SYMBOL_TAG_BLOCK.rawValue | CHAFA_SYMBOL_TAG_BORDER.rawValue
                                 | CHAFA_SYMBOL_TAG_SPACE.rawValue))
        chafa_symbol_map_remove_by_tags(
            map, ChafaSymbolTags(CHAFA_SYMBOL_TAG_WIDE.rawValue | CHAFA_SYMBOL_TAG_INVERTED.rawValue))
        return map
    }()

    /// `▀` and `▄` only.
    nonisolated(unsafe) private static let halfBlocks: OpaquePointer = {
        let map = chafa_symbol_map_new()!
        chafa_symbol_map_add_by_tags(map, CHAFA_SYMBOL_TAG_VHALF)
        return map
    }()

    /// One line of terminal bytes per cell row, each `columns` cells wide and ending with an SGR reset.
    static func lines(_ image: RGBImage, columns: Int, rows: Int, cell: CellSize,
                      colors: TerminalColors, halfBlocksOnly: Bool) -> [[UInt8]] {
        guard columns > 0, rows > 0, image.width > 0, image.height > 0 else { return [] }
        let config = chafa_canvas_config_new()
        defer { chafa_canvas_config_unref(config) }
        chafa_canvas_config_set_pixel_mode(config, CHAFA_PIXEL_MODE_SYMBOLS)
        chafa_canvas_config_set_canvas_mode(
            config, colors == .trueColor ? CHAFA_CANVAS_MODE_TRUECOLOR : CHAFA_CANVAS_MODE_INDEXED_240)
        chafa_canvas_config_set_geometry(config, Int32(columns), Int32(rows))
        chafa_canvas_config_set_cell_geometry(config, Int32(cell.width), Int32(cell.height))
        chafa_canvas_config_set_symbol_map(config, halfBlocksOnly ? halfBlocks : symbols)
        let canvas = chafa_canvas_new(config)
        defer { chafa_canvas_unref(canvas) }
        image.pixels.withUnsafeBufferPointer {
            chafa_canvas_draw_all_pixels(canvas, CHAFA_PIXEL_RGB8, $0.baseAddress, Int32(image.width),
                                         Int32(image.height), Int32(image.width * 3))
        }
        // chafa ends the picture, not each row, with a reset: each row gets its own, so that a
        // row drawn alone leaves no colour behind.
        let reset = Array("\u{1B}[0m".utf8)
        return ChafaTerminal.print(canvas, for: .symbols).split(separator: 0x0A, omittingEmptySubsequences: false)
            .prefix(rows).map { $0.suffix(reset.count).elementsEqual(reset) ? Array($0) : Array($0) + reset }
    }
}
