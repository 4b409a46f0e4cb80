import ImageIO
import Testing

/// RGBImage(planarSignedUnit:) against diffusers' VaeImageProcessor.postprocess(output_type="pil").
@Suite struct PNGPixelConversionTests {
    /// Expected bytes come from running diffusers 0.42.1 on these exact float32 values (x86-64).
    /// The half-way cases are values where (x·0.5 + 0.5)·255 lands exactly on k + 0.5 in float32;
    /// NumPy rounds those to even.
    @Test(arguments: [
        (Float(-1), UInt8(0)), (1, 255), (0, 128),  // 0 → 127.5 → 128 (even)
        (-1.5, 0), (1.5, 255), (.infinity, 255), (-.infinity, 0),
        (.nan, 0),  // NumPy's uint8 cast of NaN is undefined (0 on x86-64); ours is always 0
        (-0x1.fffffep-1, 0),  // just above −1: 7.6e-6 rounds down
        (-0x1.f9f9f8p-2, 64),  // 64.5 → 64
        (-0x1.f1f1f0p-2, 66),  // 65.5 → 66
        (-0x1.0101p-7, 126),  // 126.5 → 126
        (0x1.f9f9f8p-1, 254),  // 253.5 → 254
        (0x1.fdfdfcp-1, 254),  // 254.5 → 254
    ])
    func matchesDiffusersRounding(value: Float, expected: UInt8) {
        let planes = [Float](repeating: value, count: 3)
        let image = planes.withUnsafeBufferPointer { RGBImage(planarSignedUnit: $0, width: 1, height: 1) }
        #expect(image.pixels == [expected, expected, expected])
    }

    @Test func planesBecomeInterleavedRows() {
        // [3, height 2, width 3]: R plane, then G, then B; each plane row-major.
        let r: [Float] = [-1, 0, 1, -1, 0, 1]
        let g: [Float] = [1, 1, 1, -1, -1, -1]
        let b: [Float] = [0, -1, 0, -1, 0, -1]
        let image = (r + g + b).withUnsafeBufferPointer { RGBImage(planarSignedUnit: $0, width: 3, height: 2) }
        #expect(image.width == 3 && image.height == 2)
        #expect(image.pixels == [
            0, 255, 128, 128, 255, 0, 255, 255, 128,
            0, 0, 0, 128, 0, 128, 255, 0, 0,
        ])
    }
}
