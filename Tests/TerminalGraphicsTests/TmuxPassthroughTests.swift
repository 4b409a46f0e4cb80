import Testing
@testable import TerminalGraphics

@Suite struct TmuxPassthroughTests {
    @Test func everyEscapeInsideIsDoubled() {
        let wrapped = TmuxPassthrough.wrap(ArraySlice(Array("\u{1B}_Ga=d\u{1B}\\".utf8)))
        #expect(String(decoding: wrapped, as: UTF8.self) == "\u{1B}Ptmux;\u{1B}\u{1B}_Ga=d\u{1B}\u{1B}\\\u{1B}\\")
    }

    @Test func eachSequenceIsWrappedOnItsOwnAndTextBetweenStaysOutside() {
        let bytes = Array("\u{1B}_Gm=1;AAAA\u{1B}\\\u{1B}_Gm=0;BBBB\u{1B}\\\u{1B}]1337;File=inline=1:QQ==\u{07}".utf8)
        let text = String(decoding: TmuxPassthrough.wrapEach(bytes), as: UTF8.self)
        #expect(text == "\u{1B}Ptmux;\u{1B}\u{1B}_Gm=1;AAAA\u{1B}\u{1B}\\\u{1B}\\"
                + "\u{1B}Ptmux;\u{1B}\u{1B}_Gm=0;BBBB\u{1B}\u{1B}\\\u{1B}\\"
                + "\u{1B}Ptmux;\u{1B}\u{1B}]1337;File=inline=1:QQ==\u{07}\u{1B}\\")
    }
}
