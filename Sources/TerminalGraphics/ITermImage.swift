import ImageIO

/// A picture as an iTerm2 inline image (`OSC 1337 ; File=…`), written here rather than by
/// libchafa: chafa 1.12 sends an uncompressed TIFF resampled to the cell grid's pixels, while a
/// PNG of the picture at its own size, scaled by the terminal, is a fraction of the bytes.
enum ITermImage {
    /// Draws `image` stretched over `columns` × `rows` cells at the cursor.
    static func bytes(_ image: RGBImage, columns: Int, rows: Int) throws -> [UInt8] {
        let png = try PNGWriter.encode(image, text: [], compression: 1)
        var out = Array("\u{1B}]1337;File=inline=1;size=\(png.count);width=\(columns);height=\(rows);preserveAspectRatio=0:".utf8)
        out += Base64.encode(png)
        out.append(0x07)
        return out
    }
}
