import Testing
@testable import TerminalGraphics

/// Replies as terminals send them, byte for byte.
@Suite struct TerminalRepliesTests {
    private func parse(_ text: String) -> TerminalReplies { TerminalReplies(parsing: Array(text.utf8)) }

    @Test func xtermAsAVT340AnswersSixelItsVersionAndItsCellSize() {
        // xterm -ti vt340: no kitty reply; XTVERSION, CSI 16 t, CSI 14 t, then DA1 with 4.
        let replies = parse("\u{1B}P>|XTerm(379)\u{1B}\\\u{1B}[6;13;6t\u{1B}[4;520;600t\u{1B}[?63;1;2;4;6;9;15;16;22;28c")
        #expect(replies.sixel)
        #expect(!replies.kittyGraphics)
        #expect(replies.deviceAttributesSeen)
        #expect(replies.terminalVersion == "XTerm(379)")
        #expect(replies.cellSize == CellSize(width: 6, height: 13))
        #expect(replies.textAreaPixels?.width == 600 && replies.textAreaPixels?.height == 520)
    }

    @Test func kittyAnswersItsGraphicsQuery() {
        let replies = parse("\u{1B}_Gi=31;OK\u{1B}\\\u{1B}P>|kitty(0.26.5)\u{1B}\\\u{1B}[6;20;10t\u{1B}[?62;c")
        #expect(replies.kittyGraphics)
        #expect(!replies.sixel)
        #expect(replies.cellSize == CellSize(width: 10, height: 20))
    }

    @Test func aKittyErrorIsNotSupport() {
        #expect(!parse("\u{1B}_Gi=31;ENOTSUPPORTED:no\u{1B}\\\u{1B}[?62;c").kittyGraphics)
        // An answer to some other image id is not ours.
        #expect(!parse("\u{1B}_Gi=7;OK\u{1B}\\\u{1B}[?62;c").kittyGraphics)
    }

    @Test func aTerminalThatKnowsNothingStillAnswersDeviceAttributes() {
        let replies = parse("\u{1B}[?1;2c")
        #expect(replies.deviceAttributesSeen)
        #expect(!replies.sixel && !replies.kittyGraphics && replies.cellSize == nil && replies.terminalVersion == nil)
        // Attribute 4 only counts as a parameter of its own, not inside 14 or 42.
        #expect(!parse("\u{1B}[?62;14;42c").sixel)
    }

    @Test func keysTypedMeanwhileAreKeptInOrderApartFromTheReplies() {
        let replies = parse("ab\u{1B}[Ac\u{1B}[6;16;8t\u{1B}_Gi=31;OK\u{1B}\\é\u{1B}[?62;4")
        #expect(replies.cellSize == CellSize(width: 8, height: 16))
        #expect(replies.kittyGraphics)
        #expect(!replies.deviceAttributesSeen, "the DA1 reply is not complete yet")
        #expect(replies.typed == Array("ab\u{1B}[Acé\u{1B}[?62;4".utf8))
        #expect(!parse("\u{1B}P>|XTer").deviceAttributesSeen)
        #expect(parse("\u{1B}[6;0;0t").cellSize == nil)
    }
}
