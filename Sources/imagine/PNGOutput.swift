import Foundation
import ImageIO
import Kernels
import Models

/// A rendered picture to a PNG file, the same way for every command: diffusers' byte mapping,
/// the A1111 `parameters` chunk, an atomic write, and never over an existing file.
enum PNGOutput {
    /// [1, 3, height, width] in about [-1, 1] → 8-bit RGB (first image of the batch).
    static func rgbImage(_ image: Tensor) -> RGBImage {
        let height = image.shape[2], width = image.shape[3]
        return image.data.withUnsafeBufferPointer {
            RGBImage(planarSignedUnit: UnsafeBufferPointer(rebasing: $0[0 ..< 3 * width * height]),
                     width: width, height: height)
        }
    }

    /// Writes `image` with `request`'s settings as metadata to `target`, or, when that name is
    /// taken, to `name-2.png`, `name-3.png`, …; returns the path written.
    static func write(_ image: Tensor, request: GenerationRequest, model: DiffusionModel, to target: URL) throws -> String {
        let rgb = rgbImage(image)
        let text = [(key: "parameters", value: request.a1111Parameters(modelName: model.name, precision: model.precision))]
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let base = target.deletingPathExtension().lastPathComponent
        var candidate = target
        var suffix = 2
        while true {
            do {
                try PNGWriter.write(rgb, text: text, to: candidate, overwrite: false)
                return candidate.path
            } catch let error as PNGError where error.errorNumber == EEXIST {
                candidate = target.deletingLastPathComponent().appendingPathComponent("\(base)-\(suffix).png")
                suffix += 1
            }
        }
    }
}
