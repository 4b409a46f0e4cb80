import Live
import Testing

@Suite struct PromptTextTests {
    @Test func validUTF8IsKeptInvalidBytesAreDropped() {
        let bytes: [UInt8] = Array("ok ".utf8) + [0xFF, 0xC3] + Array("é".utf8) + [0xE6, 0x97] + Array(" 日🦊".utf8) + [0x80]
        #expect(PromptText.sanitized(bytes: bytes) == "ok é 日🦊")
    }

    @Test func controlCharactersGoAndLineBreaksBecomeSpaces() {
        #expect(PromptText.sanitized("a\u{1B}[31mred\u{7}\napple\tpie\r") == "a[31mred apple pie ")
    }

    @Test func normalizingCollapsesWhitespaceTheTokenizerIgnores() {
        #expect(PromptText.normalized("  a   red\u{3000}apple ") == "a red apple")
        #expect(PromptText.normalized("   ") == "")
    }

    @Test func terminalWidthsFollowEastAsianWidthAndEmoji() {
        #expect(TerminalWidth.columns(of: "abc") == 3)
        #expect(TerminalWidth.columns(of: "日本") == 4)
        #expect(TerminalWidth.columns(of: "🦊") == 2)
        #expect(TerminalWidth.columns(of: "e\u{301}") == 1)
        #expect(TerminalWidth.columns(of: "ｱ") == 1)   // halfwidth katakana
        #expect(TerminalWidth.columns(of: "Ａ") == 2)  // fullwidth Latin
    }
}
