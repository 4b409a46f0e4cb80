import Foundation

/// Pictures to send through a presenter, and how close a decoded one came back.
enum TerminalGraphicsTestImages {
    /// A red ramp left to right, a green ramp top to bottom and a blue diagonal, each disturbed by
    /// ±16 of noise so that a sixel palette cannot fit it exactly; pixels inside
    /// `transparentRectangle` are (r, g, b, 0). With width 32, height 24, seed 12345 and the rectangle
    /// x 4..<11, y 3..<8 this is the picture of Tests/Fixtures/terminal-graphics (make_chafa_samples.c
    /// computes the same numbers).
    static func gradientWithNoise(width: Int, height: Int, seed: UInt32 = 12345,
                                  transparentRectangle: (x: Range<Int>, y: Range<Int>)? = nil) -> DecodedImage {
        var random = ANSICRandom(seed: seed)
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                let noise = (random.next() & 31) - 16
                let pixel = (y * width + x) * 4
                rgba[pixel] = clampedByte(x * 255 / max(width - 1, 1) + noise)
                rgba[pixel + 1] = clampedByte(y * 255 / max(height - 1, 1) - noise)
                rgba[pixel + 2] = clampedByte((x + y) * 255 / max(width + height - 2, 1))
                let hidden = transparentRectangle.map { $0.x.contains(x) && $0.y.contains(y) } ?? false
                rgba[pixel + 3] = hidden ? 0 : 255
            }
        }
        return DecodedImage(width: width, height: height, rgba: rgba)
    }

    /// Every channel uniformly random, alpha 255: the worst case for palettes and run lengths.
    static func noise(width: Int, height: Int, seed: UInt32 = 1) -> DecodedImage {
        var random = ANSICRandom(seed: seed)
        var rgba = [UInt8](repeating: 255, count: width * height * 4)
        for pixel in 0..<width * height {
            for channel in 0..<3 { rgba[pixel * 4 + channel] = UInt8(random.next() & 255) }
        }
        return DecodedImage(width: width, height: height, rgba: rgba)
    }

    private static func clampedByte(_ value: Int) -> UInt8 { UInt8(min(max(value, 0), 255)) }
}

/// The ANSI C example rand(): next = next × 1103515245 + 12345, yielding bits 16…30. Written out so
/// that the C fixture generator and Swift draw the same numbers.
struct ANSICRandom {
    var state: UInt32

    init(seed: UInt32) { state = seed }

    mutating func next() -> Int {
        state = state &* 1_103_515_245 &+ 12345
        return Int(state >> 16 & 0x7FFF)
    }
}

/// Peak signal-to-noise ratio in dB over the red, green and blue channels of the pixels `included`
/// picks (all by default); alpha is not compared. +∞ when the pixels are identical.
func peakSignalToNoiseRatio(_ a: DecodedImage, _ b: DecodedImage,
                            including included: (_ x: Int, _ y: Int) -> Bool = { _, _ in true }) -> Double {
    precondition(a.width == b.width && a.height == b.height,
                 "PSNR needs equal sizes, got \(a.width)×\(a.height) and \(b.width)×\(b.height)")
    var squaredError = 0.0
    var channels = 0
    for y in 0..<a.height {
        for x in 0..<a.width where included(x, y) {
            let pixel = (y * a.width + x) * 4
            for channel in pixel..<pixel + 3 {
                let difference = Double(a.rgba[channel]) - Double(b.rgba[channel])
                squaredError += difference * difference
            }
            channels += 3
        }
    }
    precondition(channels > 0, "PSNR over no pixels")
    guard squaredError > 0 else { return .infinity }
    return 10 * log10(255 * 255 / (squaredError / Double(channels)))
}
