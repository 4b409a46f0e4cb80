import Foundation
import Testing

/// ITerm2ImageDecoder (and TIFFDecoder behind it) against libchafa 1.12's own iTerm2 output and
/// against hand-written commands.
@Suite struct ITerm2ImageDecoderTests {
    @Test func chafaSampleDecodesExactlyToItsSource() throws {
        let files = try ITerm2ImageDecoder.files(in: try ChafaSamples.bytes("iterm2.escapes"))
        try #require(files.count == 1)
        #expect(files[0].argumentOrder == ["inline", "width", "height", "preserveAspectRatio"])
        // Sizes in cells, not pixels; no name and no size argument.
        #expect(files[0].arguments == ["inline": "1", "width": "4", "height": "2", "preserveAspectRatio": "0"])
        #expect(files[0].file.starts(with: [0x49, 0x49, 0x2A, 0x00]))  // II*\0: a little-endian TIFF

        // chafa scales into premultiplied RGBA, so the transparent hole comes back (0, 0, 0, 0);
        // every other pixel is exact.
        var expected = try ChafaSamples.source()
        for pixel in stride(from: 0, to: expected.rgba.count, by: 4) where expected.rgba[pixel + 3] == 0 {
            expected.rgba[pixel..<pixel + 3] = [0, 0, 0]
        }
        #expect(try TIFFDecoder.decode(files[0].file) == expected)
    }

    @Test func chafaSampleHoldsNothingButTheFile() throws {
        let sequences = try TerminalStream.split(try ChafaSamples.bytes("iterm2.escapes"))
        #expect(sequences.map(\.kind) == [.operatingSystemCommand])
        #expect(sequences[0].bytes.last == TerminalStream.bell)
    }

    @Test func bothTerminatorsAndOtherOutputAround() throws {
        let stream = Self.bytes("\u{1B}]0;window title\u{07}\u{1B}[H")
            + Self.file("name=\(Data("a.png".utf8).base64EncodedString());size=3;inline=1", [1, 2, 3], endsWithBell: true)
            + Self.bytes("\u{1B}]1337;SetMark\u{07}text")
            + Self.file("inline=1", [9], endsWithBell: false)
        let files = try ITerm2ImageDecoder.files(in: stream)
        try #require(files.count == 2)
        #expect(files[0].arguments["size"] == "3" && files[0].file == [1, 2, 3])
        #expect(files[0].arguments["name"].flatMap { Data(base64Encoded: $0) } == Data("a.png".utf8))
        #expect(files[0].offset == 20)
        #expect(files[1].argumentOrder == ["inline"] && files[1].file == [9])
    }

    @Test func malformedCommandsAreErrors() throws {
        #expect(throws: ITerm2ImageError.badBase64(offset: 0, .invalidCharacter(UInt8(ascii: "!"), offset: 2))) {
            try ITerm2ImageDecoder.files(in: Self.bytes("\u{1B}]1337;File=inline=1:AA!A\u{07}"))
        }
        #expect(throws: ITerm2ImageError.missingColon(offset: 0)) {
            try ITerm2ImageDecoder.files(in: Self.bytes("\u{1B}]1337;File=inline=1\u{07}"))
        }
        #expect(throws: ITerm2ImageError.malformedArgument(offset: 0, argument: "inline")) {
            try ITerm2ImageDecoder.files(in: Self.bytes("\u{1B}]1337;File=inline:AAAA\u{07}"))
        }
        #expect(throws: ITerm2ImageError.sizeMismatch(offset: 0, declared: 4, actual: 3)) {
            try ITerm2ImageDecoder.files(in: Self.file("size=4", [1, 2, 3], endsWithBell: true))
        }
        let whole = Self.file("inline=1", [1, 2, 3], endsWithBell: true)
        #expect(throws: ITerm2ImageError.stream(.truncated(.operatingSystemCommand, offset: 0, bytesSeen: whole.count - 1))) {
            try ITerm2ImageDecoder.files(in: Array(whole.dropLast()))
        }
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func file(_ arguments: String, _ contents: [UInt8], endsWithBell: Bool) -> [UInt8] {
        bytes("\u{1B}]1337;File=\(arguments):\(Data(contents).base64EncodedString())" + (endsWithBell ? "\u{07}" : "\u{1B}\\"))
    }
}
