import Foundation

/// A picture someone hands in (an img2img init image): a PNG or a JPEG, told apart by content,
/// as the 8-bit RGB that Pillow's `Image.open(f).convert("RGB")` gives, which is what diffusers'
/// `load_image` feeds its pipelines: greyscale is repeated into R, G and B; alpha is dropped, the
/// colour under it kept as stored (not composited over anything). EXIF orientation is not
/// applied (diffusers' `load_image` rotates by it; Pillow's `open` does not).
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
            return try JPEGReader.decode(bytes, path: path, maximumPixels: maximumPixels)
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
