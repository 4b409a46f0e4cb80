import Foundation
import Testing

/// ITerm2ImageDecoder against hand-written commands (the presenter's own output is checked in
/// PicturePresenterTests).
@Suite struct ITerm2ImageDecoderTests {
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
