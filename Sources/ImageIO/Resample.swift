import Foundation

/// The filters Pillow's `Image.resize` offers that we use, by their support and kernel
/// (libImaging/Resample.c).
public enum ResampleFilter: Sendable {
    /// Keys' cubic convolution with a = −0.5 (Catmull–Rom), support 2: `--upscale`.
    case bicubic
    /// sinc(x)·sinc(x/3) on [−3, 3), support 3: what diffusers' image processor resizes init
    /// images with (`resample="lanczos"`).
    case lanczos

    var support: Double {
        switch self {
        case .bicubic: 2
        case .lanczos: 3
        }
    }

    func weight(_ t: Double) -> Double {
        switch self {
        case .bicubic:
            let a = -0.5, x = abs(t)
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        case .lanczos:
            // Pillow's window is half-open, [−3, 3).
            guard t >= -3 && t < 3 else { return 0 }
            return Self.sinc(t) * Self.sinc(t / 3)
        }
    }

    private static func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let angle = x * Double.pi
        return sin(angle) / angle
    }
}

extension RGBImage {
    /// This picture resampled to width × height, byte for byte what Pillow's
    /// `Image.resize((width, height), filter)` writes (libImaging/Resample.c): the filter's
    /// support widened by the scale when shrinking, weights normalised to sum 1 and rounded to
    /// 22-bit fixed point, one pass per axis whose size changes, each rounded to bytes. Matching
    /// Pillow makes `--upscale` reproducible with the tool most scripts would use instead, and
    /// init images reach the VAE as they reach it in diffusers.
    public func resized(width newWidth: Int, height newHeight: Int, filter: ResampleFilter) -> RGBImage {
        precondition(newWidth > 0 && newHeight > 0 && width > 0 && height > 0,
                     "resize \(width)×\(height) → \(newWidth)×\(newHeight): sizes must be positive")
        // Pillow skips the pass of an axis whose size stays (and copies the picture when neither changes).
        let columns = newWidth == width ? nil : ResampleWeights(inputSize: width, outputSize: newWidth, filter: filter)
        let rows = newHeight == height ? nil : ResampleWeights(inputSize: height, outputSize: newHeight, filter: filter)
        // Pillow 13 takes the vertical pass first when it shrinks the height and the horizontal
        // pass would widen the picture (measured on the fixtures: each order rounds differently).
        var out = pixels
        if newHeight < height && newWidth > width {
            if let rows { out = Self.resample(out, width: width, height: height, rows: rows) }
            if let columns { out = Self.resample(out, width: width, height: newHeight, columns: columns) }
        } else {
            if let columns { out = Self.resample(out, width: width, height: height, columns: columns) }
            if let rows { out = Self.resample(out, width: newWidth, height: height, rows: rows) }
        }
        return RGBImage(width: newWidth, height: newHeight, pixels: out)
    }

    /// One horizontal pass: each row resampled to `columns`' output size, rounded to bytes.
    private static func resample(_ source: [UInt8], width: Int, height: Int, columns: ResampleWeights) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: columns.outputSize * height * 3)
        for y in 0..<height {
            for x in 0..<columns.outputSize {
                let (first, weights) = columns[x]
                for channel in 0..<3 {
                    var sum = ResampleWeights.half
                    for (i, weight) in weights.enumerated() {
                        sum += Int(source[(y * width + first + i) * 3 + channel]) * weight
                    }
                    out[(y * columns.outputSize + x) * 3 + channel] = ResampleWeights.byte(sum)
                }
            }
        }
        return out
    }

    /// One vertical pass: each column resampled to `rows`' output size, rounded to bytes.
    private static func resample(_ source: [UInt8], width: Int, height: Int, rows: ResampleWeights) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width * rows.outputSize * 3)
        for y in 0..<rows.outputSize {
            let (first, weights) = rows[y]
            for x in 0..<width {
                for channel in 0..<3 {
                    var sum = ResampleWeights.half
                    for (i, weight) in weights.enumerated() {
                        sum += Int(source[((first + i) * width + x) * 3 + channel]) * weight
                    }
                    out[(y * width + x) * 3 + channel] = ResampleWeights.byte(sum)
                }
            }
        }
        return out
    }
}

/// For each output index along one axis: the first input index it reads and its fixed-point
/// weights (Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc`).
private struct ResampleWeights {
    static let precisionBits = 22  // 32 − 8 − 2: a byte times a weight, summed, fits 32 bits
    static let half = 1 << (precisionBits - 1)

    let outputSize: Int
    private var taps: [(first: Int, weights: [Int])] = []

    init(inputSize: Int, outputSize: Int, filter: ResampleFilter) {
        self.outputSize = outputSize
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        let inverseScale = 1 / filterScale
        for output in 0..<outputSize {
            let center = (Double(output) + 0.5) * scale
            // Int() truncates toward zero, as C's (int) cast does.
            let first = max(Int(center - support + 0.5), 0)
            let end = min(Int(center + support + 0.5), inputSize)
            var weights = (first..<end).map { filter.weight((Double($0) - center + 0.5) * inverseScale) }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            let unit = Double(1 << Self.precisionBits)
            taps.append((first, weights.map { $0 < 0 ? Int(-0.5 + $0 * unit) : Int(0.5 + $0 * unit) }))
        }
    }

    subscript(output: Int) -> (first: Int, weights: [Int]) { taps[output] }

    /// A fixed-point sum back to a byte: drop the fraction (rounding was added up front), clip.
    static func byte(_ sum: Int) -> UInt8 { UInt8(clamping: sum >> precisionBits) }
}
