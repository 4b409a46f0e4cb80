import ImageIO

/// A picture in the kitty graphics protocol, written here rather than by libchafa: chafa 1.12
/// resamples the picture to the cell grid's pixels and sends it without an image id. Sent at its
/// own size and scaled by the terminal, a 128² preview on an 800×600-pixel panel is 65 KB per
/// keystroke instead of 2 MB, and the id lets each preview replace the last in place.
enum KittyImage {
    /// Base64 bytes per chunk: the protocol's limit is 4096.
    static let chunkSize = 4096

    /// Transmits and places `image` (24-bit RGB, `f=24`) stretched over `columns` × `rows` cells at
    /// the cursor; with an `id`, replacing any earlier image with that id and its placements.
    /// `C=1` keeps the cursor where it was; `q=2` keeps the terminal from answering.
    static func bytes(_ image: RGBImage, columns: Int, rows: Int, id: UInt32?) -> [UInt8] {
        let payload = Base64.encode(image.pixels)
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + payload.count / chunkSize * 16 + 96)
        var start = 0
        repeat {
            let end = min(payload.count, start + chunkSize)
            let more = end < payload.count ? 1 : 0
            let keys = start == 0
                ? "a=T,f=24,s=\(image.width),v=\(image.height),c=\(columns),r=\(rows)"
                    + (id.map { ",i=\($0)" } ?? "") + ",C=1,q=2,m=\(more)"
                : "m=\(more)"
            out += Array("\u{1B}_G\(keys);".utf8)
            out += payload[start..<end]
            out += [0x1B, 0x5C]
            start = end
        } while start < payload.count
        return out
    }

    /// Deletes image `id` and frees its data (`d=I`).
    static func deletion(id: UInt32) -> [UInt8] {
        Array("\u{1B}_Ga=d,d=I,i=\(id),q=2\u{1B}\\".utf8)
    }
}
