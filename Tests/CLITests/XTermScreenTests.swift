import Foundation
import ImageIO
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The terminal harness itself, with hand-made escapes standing in for `imagine show`: a picture
/// drawn by a real terminal must come back from the screenshot where and as it was drawn.
@Suite struct XTermScreenTests {
    static let xtermMissing = XTermScreen.missingPrograms(.xterm)
    static let kittyMissing = XTermScreen.missingPrograms(.kitty)

    /// Eight 12-pixel bands, 48 pixels tall (eight sixel bands of 6): every colour whose channels
    /// are 0 or 255, which sixel's percent registers carry exactly.
    static let bands = PictureEscapes.bands(
        [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255], [255, 255, 255], [0, 0, 0]],
        bandWidth: 12, height: 48)

    /// Starts `terminal` running `cat` of `escapes` in a 40×8 grid, rows to spare below the
    /// picture (a terminal scrolls when a picture reaches its last row), and waits for cat.
    static func show(_ escapes: [UInt8], in terminal: XTermScreen.Terminal, folder: URL) throws -> XTermScreen {
        let file = folder.appendingPathComponent("picture")
        try Data(escapes).write(to: file)
        let screen = try XTermScreen(terminal, running: "cat '\(file.path)'", columns: 40, rows: 8)
        let status = try screen.waitForExit()
        #expect(status == 0, "cat exited with \(status)")
        return screen
    }

    /// How far the screenshot's top-left region is from `picture` (mean absolute difference), and
    /// how many bytes right of it are not the black background.
    static func mismatch(of picture: RGBImage, in screenshot: XWDImage, of screen: XTermScreen) -> (difference: Double, stray: Int) {
        let origin = screen.gridOrigin
        let region = screenshot.crop(x: origin.x, y: origin.y, width: picture.width, height: picture.height)
        let right = screenshot.crop(x: origin.x + picture.width, y: origin.y,
                                    width: screenshot.width - origin.x - picture.width, height: screenshot.height - origin.y)
        return (meanAbsoluteDifference(region, picture), right.pixels.filter { $0 != 0 }.count)
    }

    /// Waits for the picture to show at the grid's top-left, exactly, on black.
    static func expectPicture(_ picture: RGBImage, on screen: XTermScreen, named name: String,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let screenshot = try screen.screenshot { mismatch(of: picture, in: $0, of: screen) == (0, 0) }
        let (difference, stray) = mismatch(of: picture, in: screenshot, of: screen)
        let kept = KeptScreenshots.keep(screenshot.image, named: name, failed: difference > 0 || stray > 0)
        #expect(difference == 0, "the picture's region differs by \(difference) on average\(kept)",
                sourceLocation: sourceLocation)
        #expect(stray == 0, "\(stray) bytes right of the picture are not black\(kept)", sourceLocation: sourceLocation)
    }

    @Test(.enabled(if: xtermMissing.isEmpty, "not installed: \(xtermMissing) (bash .ci/setup installs them)"))
    func sixelPictureShowsAtTheTopLeft() throws {
        try withTemporaryDirectory { folder in
            let screen = try Self.show(try PictureEscapes.sixel(Self.bands), in: .xterm, folder: folder)
            defer { screen.close() }
            try Self.expectPicture(Self.bands, on: screen, named: "xterm-sixel-bands")
        }
    }

    @Test(.enabled(if: kittyMissing.isEmpty, "not installed: \(kittyMissing) (apt-get install kitty)"))
    func kittyPictureShowsAtTheTopLeft() throws {
        try withTemporaryDirectory { folder in
            let screen = try Self.show(PictureEscapes.kitty(Self.bands), in: .kitty, folder: folder)
            defer { screen.close() }
            try Self.expectPicture(Self.bands, on: screen, named: "kitty-bands")
        }
    }

    /// A line of text lands in the cells it was printed to: every cell of a letter has lit
    /// pixels, every other cell is black. The bitmap font draws white on black and nothing between.
    @Test(.enabled(if: xtermMissing.isEmpty, "not installed: \(xtermMissing) (bash .ci/setup installs them)"))
    func textLineShowsInItsCells() throws {
        let text = "Imagine draws here"
        let screen = try XTermScreen(.xterm, running: "printf '\(text)'", columns: 30, rows: 3)
        defer { screen.close() }
        #expect(try screen.waitForExit() == 0)
        let characters = Array(text)
        func misplacedCells(_ screenshot: XWDImage) -> [String] {
            var misplaced: [String] = []
            for row in 0..<screen.rows {
                for column in 0..<screen.columns {
                    let cell = screen.pixelRect(column: column, row: row, columns: 1, rows: 1)
                    let pixels = screenshot.crop(x: cell.x, y: cell.y, width: cell.width, height: cell.height).pixels
                    let lit = pixels.contains { $0 != 0 }
                    let letter = row == 0 && column < characters.count && characters[column] != " "
                    if lit != letter { misplaced.append("(\(column), \(row))") }
                }
            }
            return misplaced
        }
        let screenshot = try screen.screenshot { misplacedCells($0).isEmpty }
        let misplaced = misplacedCells(screenshot)
        let greys = screenshot.rgb.filter { $0 != 0 && $0 != 255 }.count
        let kept = KeptScreenshots.keep(screenshot.image, named: "xterm-text-line",
                                        failed: !misplaced.isEmpty || greys > 0)
        #expect(misplaced.isEmpty, "cells lit where no letter is, or dark where one is: \(misplaced)\(kept)")
        #expect(greys == 0, "\(greys) bytes neither black nor white\(kept)")
        // Nothing changes once the line shows.
        #expect(try screen.settledScreenshot().rgb == screenshot.rgb)
    }

    /// What `imagine show`'s detection will hear from this xterm, read by the command itself in raw
    /// mode (each reply, or nothing after 0.5 s, into a file): DA1 lists 4 (sixel), XTSMGRAPHICS
    /// reports the 256 colour registers and the grid's size in pixels, and the window-size report
    /// CSI 14 t goes unanswered, as xterm's allowWindowOps is off by default.
    @Test(.enabled(if: xtermMissing.isEmpty, "not installed: \(xtermMissing) (bash .ci/setup installs them)"))
    func xtermAnswersTheGraphicsQueries() throws {
        try withTemporaryDirectory { folder in
            let queries = ["da1": "\\033[c", "registers": "\\033[?1;1;0S", "geometry": "\\033[?2;1;0S", "window": "\\033[14t"]
            let reads = queries.sorted { $0.key < $1.key }.map { name, query in
                "printf '\(query)'; dd bs=256 count=1 2>/dev/null > '\(folder.appendingPathComponent(name).path)'"
            }
            let line = "stty raw -echo min 0 time 5; " + reads.joined(separator: "; ") + "; stty sane"
            let screen = try XTermScreen(.xterm, running: line, columns: 80, rows: 24)
            defer { screen.close() }
            #expect(try screen.waitForExit() == 0)
            func reply(_ name: String) throws -> String {
                try String(decoding: Data(contentsOf: folder.appendingPathComponent(name)), as: UTF8.self)
            }
            let da1 = try reply("da1")
            #expect(da1.hasPrefix("\u{1B}[?") && da1.hasSuffix("c"), "DA1 reply \(da1.debugDescription)")
            #expect(da1.dropFirst(3).dropLast().split(separator: ";").contains("4"), "no sixel (4) in \(da1.debugDescription)")
            #expect(try reply("registers") == "\u{1B}[?1;0;256S")
            #expect(try reply("geometry") == "\u{1B}[?2;0;\(80 * 6);\(24 * 13)S")
            #expect(try reply("window") == "")
        }
    }

    /// `close` leaves neither the terminal nor its X server running.
    @Test(.enabled(if: xtermMissing.isEmpty, "not installed: \(xtermMissing) (bash .ci/setup installs them)"))
    func closingEndsTerminalAndServer() throws {
        let screen = try XTermScreen(.xterm, running: "sleep 60", columns: 10, rows: 2)
        let processes = screen.processIDs
        #expect(processes.count == 2)
        screen.close()
        for pid in processes {
            #expect(kill(pid, 0) == -1 && errno == ESRCH, "process \(pid) still exists")
        }
    }
}
