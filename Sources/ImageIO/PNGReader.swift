internal import CPNG
import Foundation

/// Reads PNG files of any kind (grey, palette, 16-bit, with alpha, interlaced) as 8-bit RGB.
///
/// libpng's simplified API does the conversions and catches its own errors (its longjmp never
/// reaches Swift): grey is repeated into R, G and B. 16-bit samples and a gAMA chunk go through
/// libpng's conversion to 8-bit sRGB, where Pillow's `.convert("RGB")` can give other values; 8-bit
/// files without gAMA decode to Pillow's bytes exactly.
public enum PNGReader {
    /// Pictures larger than this many pixels are refused before decoding (a corrupt or hostile
    /// header can claim 2³¹ × 2³¹).
    public static let maximumPixels = 1 << 28

    /// What becomes of transparency.
    public enum Alpha: Sendable {
        /// Composited over black, the background of most terminals, where `imagine show` puts them.
        case compositeOverBlack
        /// Dropped, the colour under it kept as stored, as Pillow's `.convert("RGB")` does.
        case drop
    }

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func read(_ url: URL) throws -> RGBImage {
        let path = url.path
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw PNGError(path: path, reason: "cannot read the file: \(String(cString: strerror(errno)))",
                           errorNumber: errno)
        }
        return try decode([UInt8](bytes), path: path)
    }

    /// `path` only names the source in errors.
    public static func decode(_ bytes: [UInt8], path: String? = nil, alpha: Alpha = .compositeOverBlack,
                              maximumPixels: Int = maximumPixels) throws -> RGBImage {
        guard bytes.starts(with: signature) else {
            throw PNGError(path: path, reason: "not a PNG file (it does not start with the PNG signature)")
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        guard bytes.withUnsafeBytes({ png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }) != 0 else {
            throw PNGError(path: path, reason: "cannot read the PNG header: \(message(of: &image))")
        }
        let width = Int(image.width), height = Int(image.height)
        guard width * height <= maximumPixels else {
            throw PNGError(path: path, reason: "\(width)×\(height) pixels is more than the \(maximumPixels) this reader accepts")
        }
        let channels = alpha == .drop ? 4 : 3
        // PNG_FORMAT_RGBA is a macro of two flags, which Swift does not import.
        image.format = UInt32(alpha == .drop ? PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA : PNG_FORMAT_RGB)
        var background = png_color(red: 0, green: 0, blue: 0)
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        guard png_image_finish_read(&image, &background, &pixels, 0, nil) != 0 else {
            throw PNGError(path: path, reason: "cannot decode the PNG: \(message(of: &image))")
        }
        if channels == 4 {
            // RGBA → RGB in place, front to back: the write index never passes the read index.
            for i in 0..<(width * height) {
                pixels[3 * i] = pixels[4 * i]
                pixels[3 * i + 1] = pixels[4 * i + 1]
                pixels[3 * i + 2] = pixels[4 * i + 2]
            }
            pixels.removeLast(width * height)
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
