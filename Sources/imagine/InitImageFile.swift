import Foundation
import ImageIO
import Kernels
import Models

/// Image to image's starting pictures, read from PNG or JPEG files and prepared as diffusers
/// prepares them: `load_image` (Pillow's `.convert("RGB")`: grey repeated into R, G, B, alpha
/// dropped), then `VaeImageProcessor.preprocess` (a Lanczos resize to the render size, bytes / 255
/// mapped to [-1, 1]).
enum InitImageFile {
    /// Larger pictures are refused once their header is read, before decoding: 64 megapixels
    /// (8192 × 8192) is 192 MB of RGB, far beyond what any model here renders.
    static let maximumPixels = 1 << 26

    /// The text `--help` and errors use for the size rule.
    static let sizeRule = "the picture's own size with each side rounded down to a multiple of 8, as diffusers' "
        + "img2img does; --width/--height (or a line's width/height) stretch it to exactly that size instead "
        + "(Lanczos resampling as Pillow's, the aspect ratio not kept)"

    /// `path` read and checked now; resampled to each size a render asks for.
    static func read(_ path: String) throws -> InitImage {
        let rgb = try ImageFile.readRGB(URL(fileURLWithPath: path), maximumPixels: maximumPixels)
        return InitImage(name: (path as NSString).lastPathComponent, width: rgb.width, height: rgb.height) { width, height in
            // Pillow copies a picture whose size does not change; `resized` does the same.
            let sized = rgb.resized(width: width, height: height, filter: .lanczos)
            return Tensor(shape: [1, 3, height, width], data: sized.planarSignedUnit)
        }
    }
}

extension GenerationRequest {
    /// diffusers' default `strength`.
    static let defaultStrength = 0.8

    /// Starts this request from `image`, at `width` × `height` where given, else at the size
    /// diffusers would render it at (`InitImageFile.sizeRule`).
    mutating func start(from image: InitImage, strength: Double, width: Int?, height: Int?, scaleFactor: Int) {
        let size = image.defaultSize(multipleOf: scaleFactor)
        initImage = image
        self.strength = strength
        self.width = width ?? size.width
        self.height = height ?? size.height
    }
}
