import Foundation
import ImageIO

/// How far apart two pictures of the same size are: the mean absolute difference of their bytes,
/// over every pixel and channel. 0 means identical, 255 black against white. One number to say how
/// close a terminal's rendering of a picture comes to the picture itself.
func meanAbsoluteDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
    precondition(a.width == b.width && a.height == b.height,
                 "comparing a \(a.width)×\(a.height) picture with a \(b.width)×\(b.height) one")
    var total = 0
    for (x, y) in zip(a.pixels, b.pixels) { total += abs(Int(x) - Int(y)) }
    return a.pixels.isEmpty ? 0 : Double(total) / Double(a.pixels.count)
}

/// Peak signal-to-noise ratio in dB between two pictures of the same size (∞ when identical):
/// 30 dB is a good lossy copy, half-block art of a detailed picture lands far below.
func psnr(_ a: RGBImage, _ b: RGBImage) -> Double {
    precondition(a.width == b.width && a.height == b.height,
                 "comparing a \(a.width)×\(a.height) picture with a \(b.width)×\(b.height) one")
    var squares = 0.0
    for (x, y) in zip(a.pixels, b.pixels) {
        let d = Double(x) - Double(y)
        squares += d * d
    }
    guard squares > 0 else { return .infinity }
    return 10 * log10(255 * 255 / (squares / Double(a.pixels.count)))
}

/// `image` resized to `width` × `height` by bilinear interpolation between pixel centres: what a
/// terminal that scales a picture to its cells shows, near enough to compare against.
func bilinearResize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        let sy = min(max((Double(y) + 0.5) * Double(image.height) / Double(height) - 0.5, 0), Double(image.height - 1))
        let y0 = Int(sy), y1 = min(y0 + 1, image.height - 1), fy = sy - Double(y0)
        for x in 0..<width {
            let sx = min(max((Double(x) + 0.5) * Double(image.width) / Double(width) - 0.5, 0), Double(image.width - 1))
            let x0 = Int(sx), x1 = min(x0 + 1, image.width - 1), fx = sx - Double(x0)
            for c in 0..<3 {
                func at(_ px: Int, _ py: Int) -> Double { Double(image.pixels[(py * image.width + px) * 3 + c]) }
                let top = at(x0, y0) * (1 - fx) + at(x1, y0) * fx
                let bottom = at(x0, y1) * (1 - fx) + at(x1, y1) * fx
                pixels[(y * width + x) * 3 + c] = UInt8((top * (1 - fy) + bottom * fy).rounded())
            }
        }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}
