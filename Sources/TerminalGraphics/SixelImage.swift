internal import CChafa
import ImageIO

/// A picture as one DEC sixel image, encoded by libchafa (a palette of up to 256 colours chosen
/// for the picture). Sixel pixels are the terminal's own, so the picture is first resized here
/// to exactly the pixels of its cells: chafa 1.12 makes a sixel image a whole number of 6-pixel
/// bands tall and would squeeze a 52-pixel-tall picture into 48. The bands below the picture
/// are left transparent, so the text under it stays.
enum SixelImage {
    static func bytes(_ image: RGBImage, columns: Int, rows: Int, cell: CellSize) -> [UInt8] {
        guard columns > 0, rows > 0, image.width > 0, image.height > 0 else { return [] }
        let width = columns * cell.width, height = rows * cell.height
        let sized = image.resized(width: width, height: height, filter: .bicubic)
        let bandedHeight = (height + 5) / 6 * 6
        var rgba = [UInt8](repeating: 0, count: width * bandedHeight * 4)  // transparent below the picture
        for i in 0..<(width * height) {
            rgba[4 * i] = sized.pixels[3 * i]
            rgba[4 * i + 1] = sized.pixels[3 * i + 1]
            rgba[4 * i + 2] = sized.pixels[3 * i + 2]
            rgba[4 * i + 3] = 255
        }
        let config = chafa_canvas_config_new()
        defer { chafa_canvas_config_unref(config) }
        chafa_canvas_config_set_pixel_mode(config, CHAFA_PIXEL_MODE_SIXELS)
        chafa_canvas_config_set_canvas_mode(config, CHAFA_CANVAS_MODE_TRUECOLOR)
        // Cells of one band each: the canvas is then exactly width × bandedHeight pixels, the
        // picture's own size, and chafa does not resample it.
        chafa_canvas_config_set_geometry(config, Int32(columns), Int32(bandedHeight / 6))
        chafa_canvas_config_set_cell_geometry(config, Int32(cell.width), 6)
        let canvas = chafa_canvas_new(config)
        defer { chafa_canvas_unref(canvas) }
        rgba.withUnsafeBufferPointer {
            chafa_canvas_draw_all_pixels(canvas, CHAFA_PIXEL_RGBA8_UNASSOCIATED, $0.baseAddress, Int32(width),
                                         Int32(bandedHeight), Int32(width * 4))
        }
        return ChafaTerminal.print(canvas, for: .sixel)
    }
}
