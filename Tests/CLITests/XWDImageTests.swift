import Foundation
import ImageIO
import Testing

/// XWDImage on real `xwd` screenshots (Tests/Fixtures/make_xwd_fixtures.sh): a 128×80 screen
/// showing red, green, blue and yellow bands, 24×48 pixels each, from its top-left corner, on black.
@Suite struct XWDImageTests {
    static let fixtures = Imagine.packageRoot.appendingPathComponent("Tests/Fixtures/xwd")
    static let bands = PictureEscapes.bands([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]],
                                            bandWidth: 24, height: 48)

    static func checkBands(in screenshot: XWDImage) {
        #expect(screenshot.width == 128 && screenshot.height == 80)
        #expect(screenshot.crop(x: 0, y: 0, width: 96, height: 48) == bands)
        let right = screenshot.crop(x: 96, y: 0, width: 32, height: 80)
        let below = screenshot.crop(x: 0, y: 48, width: 96, height: 32)
        #expect(right.pixels.allSatisfy { $0 == 0 } && below.pixels.allSatisfy { $0 == 0 }, "not black around the bands")
    }

    /// xterm under Xvfb: the root window's own format, 32-bit TrueColor pixels, little-endian.
    @Test func readsThirtyTwoBitTrueColor() throws {
        let bytes = [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent("xterm-sixel.xwd")))
        let screenshot = try XWDImage(bytes: bytes)
        Self.checkBands(in: screenshot)
        #expect(screenshot.windowX == 0 && screenshot.windowY == 0)
    }

    /// kitty's OpenGL window has a visual other than the root's, so xwd composes the screen
    /// itself: 24-bit pixels in rows padded to 4 bytes a pixel, and a DirectColor colormap.
    @Test func readsTwentyFourBitDirectColor() throws {
        let bytes = [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent("kitty-bands.xwd")))
        // bits_per_pixel, bytes_per_line and visual_class: header fields 11, 12 and 13.
        let field = { (index: Int) -> Int in bytes[4 * index..<4 * index + 4].reduce(0) { $0 << 8 | Int($1) } }
        #expect([field(11), field(12), field(13)] as [Int] == [24, 4 * 128, 5])
        Self.checkBands(in: try XWDImage(bytes: bytes))
    }

    @Test func rejectsATruncatedFile() throws {
        let bytes = [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent("xterm-sixel.xwd")))
        #expect(throws: XWDImage.Problem.self) { try XWDImage(bytes: Array(bytes.dropLast(1))) }
        #expect(throws: XWDImage.Problem.self) { try XWDImage(bytes: Array(bytes.prefix(60))) }
    }
}
