internal import CChafa
import ImageIO

/// A picture as one DEC sixel image, encoded by libchafa (palette of up to 256 colours chosen for
/// the picture, resampled to the pixels of `columns` × `rows` cells: sixel pixels are the
/// terminal's own, it does not scale them).
enum SixelImage {
    static func bytes(_ image: RGBImage, columns: Int, rows: Int, cell: CellSize) -> [UInt8] {
        guard columns > 0, rows > 0, image.width > 0, image.height > 0 else { return [] }
        let config = chafa_canvas_config_new()
        defer { chafa_canvas_config_unref(config) }
        chafa_canvas_config_set_pixel_mode(config, CHAFA_PIXEL_MODE_SIXELS)
        chafa_canvas_config_set_canvas_mode(config, CHAFA_CANVAS_MODE_TRUECOLOR)
        chafa_canvas_config_set_geometry(config, Int32(columns), Int32(rows))
        chafa_canvas_config_set_cell_geometry(config, Int32(cell.width), Int32(cell.height))
        let canvas = chafa_canvas_new(config)
        defer { chafa_canvas_unref(canvas) }
        image.pixels.withUnsafeBufferPointer {
            chafa_canvas_draw_all_pixels(canvas, CHAFA_PIXEL_RGB8, $0.baseAddress, Int32(image.width),
                                         Int32(image.height), Int32(image.width * 3))
        }
        return ChafaTerminal.print(canvas, for: .sixel)
    }
}
