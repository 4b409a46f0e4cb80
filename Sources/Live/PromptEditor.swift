/// The one-line prompt being typed: its text, a cursor, and this session's history.
///
/// The cursor counts grapheme clusters (Swift `Character`s), so an emoji, a CJK ideograph or an
/// accented letter built from combining marks is one step for the arrow keys and one Backspace.
/// Every edit rebuilds the text from the two halves around the cursor, so a combining mark typed
/// after its base letter joins that letter's cluster, as it does on screen.
public struct PromptEditor: Sendable, Equatable {
    public private(set) var text = ""
    /// Characters before the cursor: 0 … text.count.
    public private(set) var cursor = 0
    /// Earlier prompts, oldest first; at most `historyLimit`, no two neighbours equal.
    public private(set) var history: [String] = []
    /// Which history entry is on the line while browsing (nil: the draft being typed).
    private var historyIndex: Int?
    /// The line as it was before Up was first pressed, so Down past the newest entry returns it.
    private var draft = ""

    /// Longer input is cut here: a 10,000-character paste fits, an endless one cannot grow the
    /// line (and every per-keystroke copy of it) without bound.
    public let maxLength: Int
    public let historyLimit: Int

    public init(maxLength: Int = 16_384, historyLimit: Int = 100) {
        self.maxLength = maxLength
        self.historyLimit = historyLimit
    }

    /// Applies one key. Returns whether the text changed (cursor moves alone return false).
    @discardableResult
    public mutating func apply(_ key: EditKey) -> Bool {
        let before = text
        switch key {
        case .insert(let typed): insert(typed)
        case .left: cursor = max(0, cursor - 1)
        case .right: cursor = min(text.count, cursor + 1)
        case .home: cursor = 0
        case .end: cursor = text.count
        case .backspace:
            guard cursor > 0 else { break }
            replace(charactersFrom: cursor - 1, to: cursor, with: "")
        case .delete:
            guard cursor < text.count else { break }
            replace(charactersFrom: cursor, to: cursor + 1, with: "")
        case .deleteToStart: replace(charactersFrom: 0, to: cursor, with: "")
        case .deleteToEnd: replace(charactersFrom: cursor, to: text.count, with: "")
        case .deleteWordBackward: replace(charactersFrom: startOfWordBeforeCursor(), to: cursor, with: "")
        case .historyPrevious: showHistory(step: -1)
        case .historyNext: showHistory(step: +1)
        }
        if text != before, key.isEdit { historyIndex = nil }
        return text != before
    }

    /// Remembers `prompt` as the newest history entry (on Enter) and leaves history browsing.
    public mutating func remember(_ prompt: String) {
        historyIndex = nil
        guard !prompt.isEmpty, history.last != prompt else { return }
        history.append(prompt)
        if history.count > historyLimit { history.removeFirst(history.count - historyLimit) }
    }

    // MARK: - Editing

    private mutating func insert(_ typed: String) {
        let room = maxLength - text.count
        guard room > 0 else { return }
        replace(charactersFrom: cursor, to: cursor, with: String(typed.prefix(room)))
    }

    /// Replaces characters lo..<hi and leaves the cursor after the replacement, counted in the
    /// clusters of the new text (the replacement may merge with its neighbours).
    private mutating func replace(charactersFrom lo: Int, to hi: Int, with replacement: String) {
        let start = text.index(text.startIndex, offsetBy: lo)
        let end = text.index(start, offsetBy: hi - lo)
        let head = String(text[..<start]) + replacement
        text = head + text[end...]
        cursor = min(head.count, text.count)
    }

    /// Ctrl-W as shells do it: skip spaces left of the cursor, then the word before them.
    private func startOfWordBeforeCursor() -> Int {
        let characters = Array(text.prefix(cursor))
        var i = characters.count
        while i > 0, characters[i - 1].isWhitespace { i -= 1 }
        while i > 0, !characters[i - 1].isWhitespace { i -= 1 }
        return i
    }

    // MARK: - History

    private mutating func showHistory(step: Int) {
        guard !history.isEmpty else { return }
        let current = historyIndex ?? history.count
        let next = min(max(current + step, 0), history.count)
        guard next != current else { return }
        if historyIndex == nil { draft = text }
        historyIndex = next == history.count ? nil : next
        text = historyIndex.map { history[$0] } ?? draft
        cursor = text.count
    }
}

/// What a key does to the prompt line.
public enum EditKey: Sendable, Equatable {
    /// Typed or pasted text (already cleaned by `PromptText.sanitized`).
    case insert(String)
    case left, right, home, end
    case backspace, delete
    /// Ctrl-U, Ctrl-K, Ctrl-W.
    case deleteToStart, deleteToEnd, deleteWordBackward
    /// Up, Down.
    case historyPrevious, historyNext

    /// Keys that change the text itself (editing a recalled entry makes it the new draft).
    var isEdit: Bool {
        switch self {
        case .historyPrevious, .historyNext: return false
        default: return true
        }
    }
}
