internal import CJPEGReader
import Foundation

/// Reads JPEG files (baseline or progressive, greyscale or colour) as 8-bit RGB with libjpeg's
/// default decoding, the accurate integer IDCT and "fancy" chroma upsampling, which is how Pillow
/// decodes them: the pixels equal Pillow's `Image.open(f).convert("RGB")` (checked against
/// Pillow 13 on the fixtures). Greyscale becomes RGB by repeating the grey value, as in Pillow.
/// CMYK files are refused: there is no one right way to turn ink into light.
public enum JPEGReader {
    /// `path` only names the source in errors. Pictures larger than `maximumPixels` are refused
    /// once the header is read, before any pixel is decoded. The pixels are as stored, with the
    /// EXIF orientation tag (1–8, 1 = upright or none) that says how to turn them.
    public static func decode(_ bytes: [UInt8], path: String? = nil,
                              maximumPixels: Int) throws -> (image: RGBImage, orientation: Int) {
        var image = imagine_jpeg_image()
        let status = bytes.withUnsafeBufferPointer {
            imagine_jpeg_decode_rgb($0.baseAddress, $0.count, UInt64(maximumPixels), &image)
        }
        defer { imagine_jpeg_free(&image) }
        let width = Int(image.width), height = Int(image.height)
        switch Int(status) {
        case Int(IMAGINE_JPEG_OK):
            let pixels = [UInt8](UnsafeBufferPointer(start: image.pixels, count: width * height * 3))
            return (RGBImage(width: width, height: height, pixels: pixels), Int(image.orientation))
        case Int(IMAGINE_JPEG_TOO_LARGE):
            throw ImageFileError(path: path, reason: "\(width)×\(height) pixels is more than the \(maximumPixels) this reader accepts")
        case Int(IMAGINE_JPEG_CMYK):
            throw ImageFileError(path: path, reason: "a CMYK JPEG; convert it to RGB first")
        default:
            let message = withUnsafeBytes(of: &image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw ImageFileError(path: path, reason: "cannot decode the JPEG: \(message)")
        }
    }
}
