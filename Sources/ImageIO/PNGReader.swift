internal import CPNG
import Foundation

/// Reads PNG files of any kind (grey, palette, 16-bit, with alpha, interlaced) as 8-bit RGB.
///
/// libpng's simplified API does the conversions and catches its own errors (its longjmp never
/// reaches Swift). Transparent pixels are composited over black, the background of most
/// terminals, which is where these pictures are shown.
public enum PNGReader {
    /// Pictures larger than this many pixels are refused before decoding (a corrupt or hostile
    /// header can claim 2³¹ × 2³¹).
    public static let maximumPixels = 1 << 28

    public static func read(_ url: URL) throws -> RGBImage {
        let path = url.path
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw PNGError(path: path, reason: "cannot read the file: \(String(cString: strerror(errno)))",
                           errorNumber: errno)
        }
        return try decode([UInt8](bytes), path: path)
    }

    /// `path` only names the source in errors.
    public static func decode(_ bytes: [UInt8], path: String? = nil) throws -> RGBImage {
        guard bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
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
            throw PNGError(path: path, reason: "\(width)×\(height) pixels is larger than this reader accepts")
        }
        image.format = UInt32(PNG_FORMAT_RGB)
        var background = png_color(red: 0, green: 0, blue: 0)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        guard png_image_finish_read(&image, &background, &pixels, 0, nil) != 0 else {
            throw PNGError(path: path, reason: "cannot decode the PNG: \(message(of: &image))")
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
