import Foundation

/// A picture someone hands in (an img2img init image): a PNG or a JPEG, told apart by content,
/// as the 8-bit RGB that Pillow's `Image.open(f).convert("RGB")` gives, which is what diffusers'
/// `load_image` feeds its pipelines: greyscale is repeated into R, G and B; alpha is dropped, the
/// colour under it kept as stored (not composited over anything). A JPEG's EXIF orientation is
/// applied, as `load_image` applies it (`ImageOps.exif_transpose`), so phone photos come out upright.
public enum ImageFile {
    /// Refuses files of more than `maximumPixels` pixels once their header is read, before decoding.
    public static func readRGB(_ url: URL, maximumPixels: Int) throws -> RGBImage {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImageFileError(path: path, reason: "cannot read the file: \(String(cString: strerror(errno)))")
        }
        let bytes = [UInt8](data)
        if bytes.starts(with: PNGReader.signature) {
            return try PNGReader.decode(bytes, path: path, alpha: .drop, maximumPixels: maximumPixels)
        }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            let (image, orientation) = try JPEGReader.decode(bytes, path: path, maximumPixels: maximumPixels)
            return image.upright(exifOrientation: orientation)
        }
        throw ImageFileError(path: path, reason: bytes.isEmpty ? "an empty file, not a PNG or JPEG picture"
                                                               : "not a PNG or JPEG picture")
    }
}

/// A picture file that could not be read: `path: reason`.
public struct ImageFileError: Error, CustomStringConvertible, Equatable {
    public let path: String?
    public let reason: String

    public var description: String { path.map { "\($0): \(reason)" } ?? reason }
}

extension RGBImage {
    /// The picture turned upright by EXIF orientation `tag`, as Pillow's `ImageOps.exif_transpose`
    /// turns it: 2 mirrors it left–right, 3 turns it half round, 4 mirrors it top–bottom, 5
    /// transposes it (swaps rows and columns), 6 turns it a quarter clockwise, 7 transverses it
    /// (the other diagonal), 8 turns it a quarter anticlockwise; 1 and anything else leave it.
    public func upright(exifOrientation tag: Int) -> RGBImage {
        guard (2...8).contains(tag) else { return self }
        let swapsSides = tag >= 5
        let outWidth = swapsSides ? height : width, outHeight = swapsSides ? width : height
        var out = [UInt8](repeating: 0, count: pixels.count)
        for y in 0..<outHeight {
            for x in 0..<outWidth {
                // The stored pixel that lands at (x, y).
                let (sx, sy): (Int, Int) = switch tag {
                case 2: (width - 1 - x, y)
                case 3: (width - 1 - x, height - 1 - y)
                case 4: (x, height - 1 - y)
                case 5: (y, x)
                case 6: (y, height - 1 - x)
                case 7: (width - 1 - y, height - 1 - x)
                default: (width - 1 - y, x)  // 8
                }
                let from = (sy * width + sx) * 3, to = (y * outWidth + x) * 3
                out[to] = pixels[from]
                out[to + 1] = pixels[from + 1]
                out[to + 2] = pixels[from + 2]
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: out)
    }
}
