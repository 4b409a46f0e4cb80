import Foundation
import ImageIO
import Testing

/// `imagine show` and `imagine live` in real terminals under Xvfb, photographed: the picture on
/// screen must be the PNG, far closer than half-block art of it comes.
@Suite(.serialized) struct TerminalPictureTests {
    static let xtermMissing = XTermScreen.missingPrograms(.xterm)
    static let kittyMissing = XTermScreen.missingPrograms(.kitty)

    /// A picture with detail at every scale (gradients, a ring, fine stripes), `width` × `height`.
    static func testPicture(width: Int, height: Int) -> RGBImage {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                let dx = Double(x) - Double(width) / 2, dy = Double(y) - Double(height) / 2
                let ring = abs((dx * dx + dy * dy).squareRoot() - Double(height) / 3) < 3
                let stripe = (x / 2) % 2 == 0 && y > height * 3 / 4
                pixels += ring ? [20, 20, 30]
                    : [UInt8(x * 255 / max(1, width - 1)), UInt8(y * 255 / max(1, height - 1)),
                       stripe ? 255 : UInt8(128 + Int(100 * sin(Double(x + y) / 9)))]
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Runs `imagine show` with `graphics` in `terminal` on a picture exactly 16 × 4 of its cells
    /// (so the picture needs no scaling) and returns how close the photographed cells come to it.
    private func showPSNR(_ terminal: XTermScreen.Terminal, graphics: String, folder: URL) throws -> Double {
        let binary = try #require(Imagine.binary)
        let cell = terminal.cellSize
        let picture = Self.testPicture(width: 16 * cell.width, height: 4 * cell.height)
        let file = folder.appendingPathComponent("picture-\(terminal)-\(graphics).png")
        try PNGWriter.write(picture, text: [], to: file, overwrite: true)
        let screen = try XTermScreen(terminal, running: "'\(binary.path)' show --graphics \(graphics) '\(file.path)'",
                                     columns: 40, rows: 8, environment: ["COLORTERM": "truecolor"])
        defer { screen.close() }
        #expect(try screen.waitForExit() == 0)
        let shot = try screen.settledScreenshot()
        let region = screen.pixelRect(column: 0, row: 0, columns: 16, rows: 4)
        let drawn = shot.crop(x: region.x, y: region.y, width: region.width, height: region.height)
        let value = psnr(drawn, picture)
        _ = KeptScreenshots.keep(shot.image, named: "show-\(terminal)-\(graphics)", failed: false)
        return value
    }

    @Test(.enabled(if: xtermMissing.isEmpty, "not installed: \(xtermMissing) (bash .ci/setup installs them)"))
    func showInXtermDrawsSixelPixelsFarCloserThanHalfBlocks() throws {
        try withTemporaryDirectory { folder in
            let sixel = try showPSNR(.xterm, graphics: "auto", folder: folder)
            let halfBlocks = try showPSNR(.xterm, graphics: "halfblocks", folder: folder)
            // Measured: sixel 29.6 dB (chafa's palette of 256 for a picture of every hue), half
            // blocks 16.8 dB.
            print("imagine show in xterm: sixel \(sixel) dB, half blocks \(halfBlocks) dB")
            #expect(sixel >= 28, "sixel picture at \(sixel) dB")
            #expect(sixel >= halfBlocks + 10, "sixel \(sixel) dB against half blocks \(halfBlocks) dB")
        }
    }

    @Test(.enabled(if: kittyMissing.isEmpty, "not installed: \(kittyMissing) (bash .ci/setup installs them)"))
    func showInKittyDrawsThePictureExactly() throws {
        try withTemporaryDirectory { folder in
            let kitty = try showPSNR(.kitty, graphics: "auto", folder: folder)
            #expect(kitty == .infinity, "kitty picture at \(kitty) dB, not identical")
        }
    }

    /// tmux inside kitty with `allow-passthrough on`: tmux names the terminal outside it, and the
    /// picture, wrapped for passthrough, reaches kitty exactly.
    @Test(.enabled(if: kittyMissing.isEmpty && XTermScreen.missingPrograms(.kitty).isEmpty, "not installed: \(kittyMissing)"))
    func showInsideTmuxInKittyPassesThePictureThrough() throws {
        try withTemporaryDirectory { folder in
            let binary = try #require(Imagine.binary)
            let cell = XTermScreen.Terminal.kitty.cellSize
            let picture = Self.testPicture(width: 16 * cell.width, height: 4 * cell.height)
            let file = folder.appendingPathComponent("picture.png")
            try PNGWriter.write(picture, text: [], to: file, overwrite: true)
            let configuration = folder.appendingPathComponent("tmux.conf")
            try Data("set -g allow-passthrough on\nset -g status off\n".utf8).write(to: configuration)
            // Its own server (-L), gone when the session ends: after the picture has been seen.
            let tmux = "tmux -L imagine-\(getpid()) -f '\(configuration.path)' new-session "
                + "\"'\(binary.path)' show '\(file.path)'; sleep 4\""
            let screen = try XTermScreen(.kitty, running: tmux, columns: 40, rows: 8)
            defer { screen.close() }
            let region = screen.pixelRect(column: 0, row: 0, columns: 16, rows: 4)
            func drawn(_ shot: XWDImage) -> RGBImage {
                shot.crop(x: region.x, y: region.y, width: region.width, height: region.height)
            }
            let shot = try screen.screenshot(timeout: 15) { psnr(drawn($0), picture) == .infinity }
            let kept = KeptScreenshots.keep(shot.image, named: "show-tmux-kitty", failed: psnr(drawn(shot), picture) < .infinity)
            #expect(psnr(drawn(shot), picture) == .infinity, "not the picture through tmux\(kept)")
        }
    }

    /// Types a prompt into `imagine live`, saves with Enter, and compares the photographed panel
    /// with the saved PNG scaled to the panel's picture.
    private func livePSNR(_ terminal: XTermScreen.Terminal, graphics: String, folder: URL) throws -> Double {
        let binary = try #require(Imagine.binary)
        let out = folder.appendingPathComponent("out-\(terminal)-\(graphics)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let command = "'\(binary.path)' live --model '\(Imagine.tinyModel)' --seed 7 --steps 4 --threads 1 "
            + "--graphics \(graphics) --out-dir '\(out.path)'"
        // A small terminal: its cells hold far fewer picture details than its pixels do, as a
        // larger picture in a larger terminal would.
        let screen = try XTermScreen(terminal, running: command, columns: 40, rows: 12,
                                     environment: ["COLORTERM": "truecolor", "XDG_CACHE_HOME": folder.path])
        defer { screen.close() }
        // A person waits for the screen before typing: the status line, drawn in reverse video.
        let statusRow = screen.pixelRect(column: 0, row: screen.rows - 1, columns: 10, rows: 1)
        _ = try screen.screenshot(timeout: 30) {
            $0.crop(x: statusRow.x, y: statusRow.y, width: statusRow.width, height: statusRow.height).pixels.contains(255)
        }
        try screen.type("a red apple")
        try screen.press("Return")
        var saved: URL?
        let deadline = Date().addingTimeInterval(30)
        while saved == nil && Date() < deadline {
            saved = try FileManager.default.contentsOfDirectory(at: out, includingPropertiesForKeys: nil)
                .first { $0.pathExtension == "png" }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let png = try PNGReader.read(try #require(saved, "no PNG saved"))
        let shot = try screen.settledScreenshot()
        try screen.press("Escape")
        // The picture: the bounding box of what is not background above the prompt and status lines.
        let panelHeight = (screen.rows - 2) * screen.cellSize.height
        var box = (left: Int.max, top: Int.max, right: -1, bottom: -1)
        for y in 0..<panelHeight {
            for x in 0..<shot.width where shot.pixel(x: x, y: y) != (0, 0, 0) {
                box = (min(box.left, x), min(box.top, y), max(box.right, x), max(box.bottom, y))
            }
        }
        try #require(box.right >= box.left, "nothing drawn in the panel")
        let width = box.right - box.left + 1, height = box.bottom - box.top + 1
        let drawn = shot.crop(x: box.left, y: box.top, width: width, height: height)
        _ = KeptScreenshots.keep(shot.image, named: "live-\(terminal)-\(graphics)", failed: false)
        return psnr(drawn, bilinearResize(png, width: width, height: height))
    }

    @Test(.enabled(if: xtermMissing.isEmpty, "not installed: \(xtermMissing) (bash .ci/setup installs them)"))
    func liveInXtermShowsThePictureInSixelPixels() throws {
        try withTemporaryDirectory { folder in
            let sixel = try livePSNR(.xterm, graphics: "auto", folder: folder)
            let halfBlocks = try livePSNR(.xterm, graphics: "halfblocks", folder: folder)
            print("imagine live in xterm: sixel \(sixel) dB, half blocks \(halfBlocks) dB")
            // Measured: sixel 33.0 dB, half blocks 24.0 dB.
            #expect(sixel >= halfBlocks + 4, "sixel \(sixel) dB against half blocks \(halfBlocks) dB")
        }
    }

    @Test(.enabled(if: kittyMissing.isEmpty, "not installed: \(kittyMissing) (bash .ci/setup installs them)"))
    func liveInKittyShowsThePictureInKittyPixels() throws {
        try withTemporaryDirectory { folder in
            let kitty = try livePSNR(.kitty, graphics: "auto", folder: folder)
            let symbols = try livePSNR(.kitty, graphics: "symbols", folder: folder)
            // Measured: kitty 34.4 dB, symbols 28.8 dB (against the PNG scaled bilinearly; kitty
            // scales with its own filter).
            print("imagine live in kitty: kitty \(kitty) dB, symbols \(symbols) dB")
            #expect(kitty >= symbols + 4, "kitty \(kitty) dB against symbols \(symbols) dB")
        }
    }
}
