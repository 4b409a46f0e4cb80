import Testing

/// The test pictures and the PSNR that judges decoded ones.
@Suite struct TerminalGraphicsTestImagesTests {
    @Test func gradientWithNoiseIsThePictureChafaWasGiven() throws {
        let swift = TerminalGraphicsTestImages.gradientWithNoise(
            width: 32, height: 24, transparentRectangle: ChafaSamples.transparentRectangle)
        #expect(swift == (try ChafaSamples.source()))
    }

    @Test func picturesAreReproducibleAndSeedsDiffer() {
        #expect(TerminalGraphicsTestImages.noise(width: 7, height: 5, seed: 3)
                == TerminalGraphicsTestImages.noise(width: 7, height: 5, seed: 3))
        #expect(TerminalGraphicsTestImages.noise(width: 7, height: 5, seed: 3)
                != TerminalGraphicsTestImages.noise(width: 7, height: 5, seed: 4))
        let gradient = TerminalGraphicsTestImages.gradientWithNoise(width: 9, height: 4)
        #expect(gradient.rgba.enumerated().allSatisfy { $0.offset % 4 != 3 || $0.element == 255 })
    }

    @Test func psnrOfKnownErrors() {
        let picture = TerminalGraphicsTestImages.noise(width: 4, height: 4)
        #expect(peakSignalToNoiseRatio(picture, picture) == .infinity)

        // Every colour channel off by 1: MSE 1, so 20·log10(255) = 48.13 dB; alpha is ignored.
        var offByOne = picture
        for index in offByOne.rgba.indices {
            offByOne.rgba[index] = index % 4 == 3 ? 0 : offByOne.rgba[index] ^ 1
        }
        #expect(abs(peakSignalToNoiseRatio(picture, offByOne) - 48.1308) < 1e-4)

        // One of 16 pixels black against white: MSE 255²/16, so 10·log10(16) = 12.04 dB; then left
        // out of the comparison.
        var black = picture, white = picture
        black.rgba[0..<3] = [0, 0, 0]
        white.rgba[0..<3] = [255, 255, 255]
        #expect(abs(peakSignalToNoiseRatio(black, white) - 12.0412) < 1e-4)
        #expect(peakSignalToNoiseRatio(black, white) { x, y in x != 0 || y != 0 } == .infinity)
    }
}
