import Testing
@testable import TerminalGraphics

@Suite struct PictureLayoutTests {
    private let cell = CellSize(width: 8, height: 16)

    @Test func aPictureThatFitsKeepsItsOwnSizeUnlessEnlarged() {
        let native = PictureLayout.fitting(width: 512, height: 512, in: (200, 60), cell: cell, enlarge: false)
        #expect(native == PictureLayout(column: 68, row: 14, columns: 64, rows: 32))
        let filled = PictureLayout.fitting(width: 512, height: 512, in: (200, 60), cell: cell, enlarge: true)
        #expect(filled.rows == 60 && filled.columns == 120 && filled.column == 40 && filled.row == 0)
    }

    @Test func aLargePictureShrinksToTheAreaWithItsAspectRatio() {
        let wide = PictureLayout.fitting(width: 1024, height: 512, in: (80, 24), cell: cell, enlarge: false)
        #expect(wide.columns == 80)
        #expect(wide.rows == 20)  // 640 × 320 pixels: 80 cells × 20 rows of 16
        #expect(wide.row == 2 && wide.column == 0)
        let tall = PictureLayout.fitting(width: 256, height: 1024, in: (80, 24), cell: cell, enlarge: false)
        #expect(tall.rows == 24 && tall.columns == 12)  // 96 × 384 pixels
    }

    @Test func degenerateSizesGiveAnEmptyLayout() {
        #expect(PictureLayout.fitting(width: 0, height: 10, in: (80, 24), cell: cell, enlarge: true).columns == 0)
        #expect(PictureLayout.fitting(width: 10, height: 10, in: (0, 24), cell: cell, enlarge: true).rows == 0)
        // Never less than one cell for a real picture.
        let speck = PictureLayout.fitting(width: 1, height: 1, in: (80, 24), cell: cell, enlarge: false)
        #expect(speck.columns == 1 && speck.rows == 1)
    }
}
