/// An 8-bit RGB picture as it goes into a file.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// [height, width, 3]: rows top to bottom, pixels left to right, bytes R G B.
    public var pixels: [UInt8]

    /// Traps unless `pixels` holds exactly width × height × 3 bytes.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        let count = Self.byteCount(width: width, height: height)
        // fatalError, not precondition: release builds use -Ounchecked, which drops preconditions.
        guard pixels.count == count else {
            fatalError("RGBImage \(width)×\(height) needs \(count) bytes, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// From a decoder's output: planar [3, height, width] floats in [-1, 1], R plane first.
    ///
    /// Each value becomes the byte diffusers would write for it (`VaeImageProcessor.postprocess`,
    /// then `numpy_to_pil`), so our PNGs match a diffusers pipeline's for the same decoder output.
    /// Traps unless the buffer holds exactly 3 × height × width values.
    public init(planarSignedUnit planes: UnsafeBufferPointer<Float>, width: Int, height: Int) {
        let count = Self.byteCount(width: width, height: height)
        guard planes.count == count else {
            fatalError("RGBImage \(width)×\(height) needs \(count) planar floats, got \(planes.count)")
        }
        let planeSize = width * height
        var pixels = [UInt8](repeating: 0, count: count)
        pixels.withUnsafeMutableBufferPointer { out in
            for i in 0..<planeSize {
                out[3 * i] = Self.byte(signedUnit: planes[i])
                out[3 * i + 1] = Self.byte(signedUnit: planes[planeSize + i])
                out[3 * i + 2] = Self.byte(signedUnit: planes[2 * planeSize + i])
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// Planar [3, height, width] floats in [-1, 1], R plane first, as diffusers' image processor
    /// hands a picture to the VAE: `pil_to_numpy` divides each byte by 255 in float32, then
    /// `normalize` computes 2x − 1 (both rounded to float32 as here).
    public var planarSignedUnit: [Float] {
        let planeSize = width * height
        var planes = [Float](repeating: 0, count: 3 * planeSize)
        for i in 0..<planeSize {
            for channel in 0..<3 {
                let unit = Float(pixels[3 * i + channel]) / 255
                planes[channel * planeSize + i] = 2 * unit - 1
            }
        }
        return planes
    }

    /// diffusers, in float32 throughout: `denormalize` computes `(x * 0.5 + 0.5).clamp(0, 1)`,
    /// then `numpy_to_pil` computes `(v * 255).round().astype("uint8")`. NumPy rounds halves to
    /// even, so 0 → 127.5 → 128 but a value landing on 2.5 gives 2, not 3. NaN survives torch's
    /// clamp and NumPy's uint8 cast of NaN is undefined; here NaN is 0 (black), like −∞.
    @inline(__always)
    static func byte(signedUnit x: Float) -> UInt8 {
        let v = x * 0.5 + 0.5
        guard v > 0 else { return 0 }  // also NaN: every comparison with NaN is false
        guard v < 1 else { return 255 }
        return UInt8((v * 255).rounded(.toNearestOrEven))
    }

    /// width × height × 3, trapping on negative sizes and on overflow (which -Ounchecked would
    /// otherwise let wrap around).
    private static func byteCount(width: Int, height: Int) -> Int {
        let (area, areaOverflow) = width.multipliedReportingOverflow(by: height)
        let (count, countOverflow) = area.multipliedReportingOverflow(by: 3)
        guard width >= 0, height >= 0, !areaOverflow, !countOverflow else {
            fatalError("RGBImage size \(width)×\(height) is negative or too large")
        }
        return count
    }
}
