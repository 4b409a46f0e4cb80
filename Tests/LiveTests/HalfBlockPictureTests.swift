import Live
import Testing

@Suite struct HalfBlockPictureTests {
    /// width × height pixels, each the colour `color(x, y)`.
    private func pixels(_ width: Int, _ height: Int, _ color: (Int, Int) -> [UInt8]) -> [UInt8] {
        (0..<height).flatMap { y in (0..<width).flatMap { x in color(x, y) } }
    }

    @Test func aCellHoldsTheUpperPixelAsForegroundAndTheLowerAsBackground() {
        let image = pixels(1, 2) { _, y in y == 0 ? [255, 0, 0] : [0, 0, 255] }
        let picture = HalfBlockPicture(width: 1, height: 2, pixels: image, maxColumns: 1, maxRows: 1, depth: .trueColor)
        #expect(picture.lines == ["\u{1B}[38;2;255;0;0m\u{1B}[48;2;0;0;255m▀\u{1B}[0m"])
    }

    @Test func repeatedColoursAreNotRepeatedEscapes() {
        let image = pixels(4, 2) { _, _ in [10, 20, 30] }
        let picture = HalfBlockPicture(width: 4, height: 2, pixels: image, maxColumns: 4, maxRows: 1, depth: .trueColor)
        #expect(picture.lines == ["\u{1B}[38;2;10;20;30m\u{1B}[48;2;10;20;30m▀▀▀▀\u{1B}[0m"])
    }

    @Test func theAspectRatioIsKept() {
        let square = pixels(64, 64) { _, _ in [0, 0, 0] }
        let wide = HalfBlockPicture(width: 64, height: 64, pixels: square, maxColumns: 100, maxRows: 38, depth: .trueColor)
        #expect(wide.columns == 76 && wide.rows == 38)  // 76 × 76 pixels
        let tall = HalfBlockPicture(width: 64, height: 64, pixels: square, maxColumns: 30, maxRows: 40, depth: .trueColor)
        #expect(tall.columns == 30 && tall.rows == 15)
        let landscape = pixels(128, 64) { _, _ in [0, 0, 0] }
        let fitted = HalfBlockPicture(width: 128, height: 64, pixels: landscape, maxColumns: 40, maxRows: 40, depth: .trueColor)
        #expect(fitted.columns == 40 && fitted.rows == 10)
    }

    @Test func shrinkingAveragesThePixelsUnderACell() {
        let checker = pixels(2, 4) { x, y in (x + y) % 2 == 0 ? [200, 200, 200] : [0, 0, 0] }
        let picture = HalfBlockPicture(width: 2, height: 4, pixels: checker, maxColumns: 1, maxRows: 1, depth: .trueColor)
        #expect(picture.lines == ["\u{1B}[38;2;100;100;100m\u{1B}[48;2;100;100;100m▀\u{1B}[0m"])
    }

    @Test func anOddPixelHeightLeavesTheLastLowerHalfToTheTerminal() {
        let image = pixels(1, 3) { _, _ in [1, 2, 3] }
        let picture = HalfBlockPicture(width: 1, height: 3, pixels: image, maxColumns: 1, maxRows: 2, depth: .trueColor)
        #expect(picture.rows == 2)
        #expect(picture.lines[1] == "\u{1B}[38;2;1;2;3m\u{1B}[49m▀\u{1B}[0m")
    }

    @Test func without24BitColourTheNearestPaletteEntryIsUsed() {
        #expect(HalfBlockPicture.paletteIndex(red: 255, green: 0, blue: 0) == 196)
        #expect(HalfBlockPicture.paletteIndex(red: 0, green: 0, blue: 0) == 16)
        #expect(HalfBlockPicture.paletteIndex(red: 255, green: 255, blue: 255) == 231)
        #expect(HalfBlockPicture.paletteIndex(red: 128, green: 128, blue: 128) == 244)  // grey ramp: 8 + 10·12
        #expect(HalfBlockPicture.paletteIndex(red: 95, green: 135, blue: 175) == 16 + 36 + 12 + 3)
        let image = pixels(1, 2) { _, _ in [255, 0, 0] }
        let picture = HalfBlockPicture(width: 1, height: 2, pixels: image, maxColumns: 1, maxRows: 1, depth: .palette256)
        #expect(picture.lines == ["\u{1B}[38;5;196m\u{1B}[48;5;196m▀\u{1B}[0m"])
    }

    @Test func noRoomDrawsNothing() {
        let picture = HalfBlockPicture(width: 2, height: 2, pixels: [UInt8](repeating: 0, count: 12),
                                       maxColumns: 0, maxRows: 5, depth: .trueColor)
        #expect(picture.lines.isEmpty)
    }
}
