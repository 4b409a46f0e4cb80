import Live
import Testing

@Suite struct PromptEditorTests {
    private func editor(_ text: String, cursor: Int? = nil) -> PromptEditor {
        var editor = PromptEditor()
        editor.apply(.insert(text))
        if let cursor {
            editor.apply(.home)
            for _ in 0..<cursor { editor.apply(.right) }
        }
        return editor
    }

    @Test func insertsAtTheCursorAndMovesPastTheInsertion() {
        var e = editor("a cat", cursor: 2)
        let changed = e.apply(.insert("big "))
        #expect(changed)
        #expect(e.text == "a big cat" && e.cursor == 6)
    }

    @Test func cursorKeysStayInsideTheText() {
        var e = editor("ab")
        let changed = e.apply(.right)
        #expect(!changed)
        #expect(e.cursor == 2)
        e.apply(.home)
        e.apply(.left)
        #expect(e.cursor == 0)
        e.apply(.end)
        #expect(e.cursor == 2)
    }

    @Test func backspaceAndDeleteRemoveWholeGraphemeClusters() {
        var e = editor("a👨‍👩‍👧é日")  // family emoji (ZWJ sequence), e + combining acute
        #expect(e.text.count == 4)
        e.apply(.backspace)
        #expect(e.text == "a👨‍👩‍👧é")
        e.apply(.left)
        e.apply(.backspace)
        #expect(e.text == "aé" && e.cursor == 1)
        e.apply(.delete)
        #expect(e.text == "a" && e.cursor == 1)
        e.apply(.delete)
        e.apply(.home)
        let changed = e.apply(.backspace)
        #expect(!changed)
    }

    @Test func aCombiningMarkTypedAfterItsLetterJoinsIt() {
        var e = editor("cafe")
        e.apply(.insert("\u{301}"))
        #expect(e.text == "café" && e.text.count == 4 && e.cursor == 4)
        e.apply(.backspace)
        #expect(e.text == "caf")
    }

    @Test func ctrlUDeletesToTheStartAndCtrlKToTheEnd() {
        var e = editor("one two three", cursor: 4)
        e.apply(.deleteToStart)
        #expect(e.text == "two three" && e.cursor == 0)
        e.apply(.right)
        e.apply(.right)
        e.apply(.deleteToEnd)
        #expect(e.text == "tw" && e.cursor == 2)
    }

    @Test func ctrlWDeletesTheWordBeforeTheCursorAndTheSpacesAfterIt() {
        var e = editor("a red  apple  ")
        e.apply(.deleteWordBackward)
        #expect(e.text == "a red  ")
        e.apply(.deleteWordBackward)
        #expect(e.text == "a ")
        var middle = editor("a red apple", cursor: 5)
        middle.apply(.deleteWordBackward)
        #expect(middle.text == "a  apple" && middle.cursor == 2)
    }

    @Test func upAndDownWalkThroughHistoryAndBackToTheDraft() {
        var e = PromptEditor()
        for prompt in ["first", "second", "second", ""] { e.remember(prompt) }
        #expect(e.history == ["first", "second"])
        e.apply(.insert("dra"))
        e.apply(.historyPrevious)
        #expect(e.text == "second" && e.cursor == 6)
        e.apply(.historyPrevious)
        #expect(e.text == "first")
        e.apply(.historyPrevious)
        #expect(e.text == "first")
        e.apply(.historyNext)
        #expect(e.text == "second")
        e.apply(.historyNext)
        #expect(e.text == "dra")
        let changed = e.apply(.historyNext)
        #expect(!changed)
    }

    @Test func editingARecalledPromptMakesItTheDraft() {
        var e = PromptEditor()
        e.remember("cat")
        e.apply(.historyPrevious)
        e.apply(.insert("s"))
        e.apply(.historyPrevious)
        #expect(e.text == "cat")
        e.apply(.historyNext)
        #expect(e.text == "cats")
    }

    @Test func historyIsBounded() {
        var e = PromptEditor(historyLimit: 3)
        for i in 0..<10 { e.remember("p\(i)") }
        #expect(e.history == ["p7", "p8", "p9"])
    }

    @Test func theLineIsCutAtItsMaximumLength() {
        var e = PromptEditor(maxLength: 10)
        e.apply(.insert(String(repeating: "x", count: 8)))
        e.apply(.insert("abcdef"))
        #expect(e.text == "xxxxxxxxab")
        let changed = e.apply(.insert("more"))
        #expect(!changed)
    }

    @Test func aTenThousandCharacterPasteFitsAndEditsStayCorrect() {
        var e = PromptEditor()
        let paste = String(repeating: "日本 ", count: 3_334)  // 10,002 characters
        e.apply(.insert(paste))
        #expect(e.text.count == 10_002 && e.cursor == 10_002)
        e.apply(.deleteWordBackward)
        #expect(e.text.count == 9_999)
        e.apply(.deleteToStart)
        #expect(e.text.isEmpty)
    }
}
