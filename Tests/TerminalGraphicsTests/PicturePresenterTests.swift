import ImageIO
import Testing
@testable import TerminalGraphics

/// What the presenter emits, decoded back to pixels with the decoders of this target.
@Suite struct PicturePresenterTests {
    private let cell = CellSize(width: 8, height: 12)

    /// A 32×24 picture with noise: exactly 4 × 2 cells, so nothing needs scaling.
    private var picture: RGBImage {
        let decoded = TerminalGraphicsTestImages.gradientWithNoise(width: 32, height: 24)
        var rgb: [UInt8] = []
        for pixel in stride(from: 0, to: decoded.rgba.count, by: 4) { rgb += decoded.rgba[pixel..<(pixel + 3)] }
        return RGBImage(width: 32, height: 24, pixels: rgb)
    }

    private func decoded(_ image: RGBImage) -> DecodedImage {
        DecodedImage(width: image.width, height: image.height, rgb: image.pixels)
    }

    private let area = PictureLayout(column: 2, row: 1, columns: 4, rows: 2)

    @Test func kittyPicturesArriveExactlyAndReplaceEachOtherByID() throws {
        let presenter = PicturePresenter(mode: .kitty, colors: .trueColor, cell: cell)
        let first = try presenter.place(picture, in: area)
        #expect(String(decoding: first, as: UTF8.self).contains("\u{1B}[2;3H\u{1B}_G"), "placed at the area's cell")
        let commands = try KittyGraphicsDecoder.commands(in: first)
        try #require(commands.count == 1)
        #expect(commands[0].keys == ["a": "T", "f": "24", "s": "32", "v": "24", "c": "4", "r": "2",
                                     "i": "\(presenter.kittyImageID)", "C": "1", "q": "2", "m": "0"])
        #expect(commands[0].image == decoded(picture))

        // A picture needing several chunks: none over the protocol's 4096 base64 bytes.
        let large = RGBImage(width: 64, height: 64, pixels: (0..<(64 * 64 * 3)).map { UInt8($0 % 251) })
        let chunked = try KittyGraphicsDecoder.commands(in: try presenter.place(large, in: area))
        #expect(chunked.count == 1 && chunked[0].chunkPayloadSizes.count > 1)
        #expect(chunked[0].chunkPayloadSizes.allSatisfy { $0 <= 4096 })
        #expect(chunked[0].image == decoded(large))
        #expect(chunked[0].integer("i") == commands[0].integer("i"), "the same id: the new picture replaces the old")

        let removal = try KittyGraphicsDecoder.commands(in: presenter.removePlaced())
        #expect(removal.map(\.keys) == [["a": "d", "d": "I", "i": "\(presenter.kittyImageID)", "q": "2"]])
    }

    @Test func sixelPicturesKeepTheirCellsPixelsWithinThePalette() throws {
        let presenter = PicturePresenter(mode: .sixel, colors: .trueColor, cell: cell)
        let images = try SixelDecoder.images(in: try presenter.place(picture, in: area))
        try #require(images.count == 1)
        let sixel = images[0]
        // Whole 6-pixel bands: 24 rows are exactly 4 bands, nothing below is painted.
        #expect(sixel.image.width == 32 && sixel.image.height == 24)
        #expect(sixel.painted.allSatisfy { $0 })
        let value = peakSignalToNoiseRatio(sixel.image, decoded(picture))
        #expect(value >= 30, "sixel at \(value) dB")

        // 12-pixel cells on 5 rows: 60 pixels, 10 bands; 13-pixel cells: 65 pixels in 11 bands,
        // the last 1 painted row of it (66 − 65 = 1 row transparent).
        let tall = PicturePresenter(mode: .sixel, colors: .trueColor, cell: CellSize(width: 6, height: 13))
        let odd = try SixelDecoder.images(in: try tall.place(picture, in: PictureLayout(column: 0, row: 0, columns: 40, rows: 5)))
        try #require(odd.count == 1)
        #expect(odd[0].image.height == 66)
        #expect((0..<odd[0].image.width).allSatisfy { odd[0].isPainted(x: $0, y: 64) && !odd[0].isPainted(x: $0, y: 65) })
    }

    @Test func iTermPicturesArePNGsOfThePictureItself() throws {
        let presenter = PicturePresenter(mode: .iterm, colors: .trueColor, cell: cell)
        let files = try ITerm2ImageDecoder.files(in: try presenter.place(picture, in: area))
        try #require(files.count == 1)
        #expect(files[0].arguments["width"] == "4" && files[0].arguments["height"] == "2")
        #expect(files[0].arguments["size"] == "\(files[0].file.count)")
        #expect(files[0].arguments["preserveAspectRatio"] == "0")
        #expect(try PNGReader.decode(files[0].file) == picture)
    }

    @Test func textArtFillsItsCellsRowByRow() throws {
        for mode in [GraphicsMode.symbols, .halfblocks] {
            let presenter = PicturePresenter(mode: mode, colors: .trueColor, cell: cell)
            let text = String(decoding: try presenter.place(picture, in: area), as: UTF8.self)
            #expect(text.contains("\u{1B}[2;3H") && text.contains("\u{1B}[3;3H") && !text.contains("\u{1B}[4;3H"))
            #expect(text.contains("\u{1B}[38;2;"))
            if mode == .halfblocks {
                let glyphs = Set(text.unicodeScalars.filter { $0.value >= 0x2580 })
                #expect(glyphs.isSubset(of: ["▀", "▄"]), "\(glyphs)")
            }
        }
        let palette = PicturePresenter(mode: .symbols, colors: .palette256, cell: cell)
        let text = String(decoding: try palette.place(picture, in: area), as: UTF8.self)
        #expect(text.contains("\u{1B}[38;5;") && !text.contains("\u{1B}[38;2;"))
    }

    @Test func aSmallerPictureBlanksWhatItNoLongerCovers() throws {
        let presenter = PicturePresenter(mode: .sixel, colors: .trueColor, cell: cell)
        _ = try presenter.place(picture, in: PictureLayout(column: 0, row: 0, columns: 8, rows: 4))
        let wide = RGBImage(width: 64, height: 12, pixels: [UInt8](repeating: 90, count: 64 * 12 * 3))
        let text = String(decoding: try presenter.place(wide, in: PictureLayout(column: 0, row: 0, columns: 8, rows: 4)),
                          as: UTF8.self)
        // The square picture took 8 × 4 cells; its four rows are erased before the strip is drawn.
        for row in 1...4 { #expect(text.contains("\u{1B}[\(row);1H\u{1B}[8X")) }
    }

    @Test func insideTmuxEverySequenceIsWrappedAndUnwrapsToThePicture() throws {
        let presenter = PicturePresenter(mode: .kitty, colors: .trueColor, cell: cell, tmuxPassthrough: true)
        let large = RGBImage(width: 64, height: 64, pixels: (0..<(64 * 64 * 3)).map { UInt8($0 % 241) })
        let wrapped = try presenter.place(large, in: area)
        // tmux's unwrapping: from "ESC P tmux;" to the first ESC \ that is not a doubled ESC,
        // with each doubled ESC undoubled. Bytes between passthroughs are tmux's own (cursor moves).
        let start = Array("\u{1B}Ptmux;".utf8)
        var unwrapped: [UInt8] = [], passthroughs = 0, i = 0
        while i < wrapped.count {
            guard wrapped[i...].starts(with: start) else {
                i += 1
                continue
            }
            passthroughs += 1
            i += start.count
            while i + 1 < wrapped.count, !(wrapped[i] == 0x1B && wrapped[i + 1] == 0x5C) {
                if wrapped[i] == 0x1B && wrapped[i + 1] == 0x1B { i += 1 }
                unwrapped.append(wrapped[i])
                i += 1
            }
            i += 2
        }
        #expect(passthroughs > 1, "each kitty chunk in a passthrough of its own")
        #expect(try KittyGraphicsDecoder.commands(in: unwrapped).first?.image == decoded(large))
    }

    @Test func inlinePicturesLeaveTheCursorOnTheLineBelow() throws {
        for mode in [GraphicsMode.kitty, .sixel, .iterm] {
            let presenter = PicturePresenter(mode: mode, colors: .trueColor, cell: cell)
            let text = String(decoding: try presenter.inline(picture, maxColumns: 80, maxRows: 24), as: UTF8.self)
            #expect(text.hasPrefix("\n\n\u{1B}[2A\r\u{1B}7"), "\(mode): room made, cursor saved")
            #expect(text.hasSuffix("\u{1B}8\u{1B}[2B\r"), "\(mode): cursor restored and moved below")
        }
        // Character art fills the room it has (6 rows), unlike pixels (2 rows: the picture's own size).
        let symbols = PicturePresenter(mode: .symbols, colors: .trueColor, cell: cell)
        let text = String(decoding: try symbols.inline(picture, maxColumns: 80, maxRows: 6), as: UTF8.self)
        #expect(text.split(separator: "\n").count == 6)
    }
}
