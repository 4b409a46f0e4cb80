@preconcurrency import CCurses
import Foundation
import ImageIO
import Live
import TerminalGraphics

// MARK: - Restoring the terminal, whatever happens

// What a signal handler needs to put the terminal back, prepared before the handler can run:
// a handler may only call async-signal-safe functions (write, tcsetattr, _exit), so no endwin().
nonisolated(unsafe) private var savedTerminalModes = termios()
nonisolated(unsafe) private var restoreSequence: UnsafeMutableBufferPointer<UInt8>?
nonisolated(unsafe) private var screenIsOpen = false

/// Leaves the alternate screen, shows the cursor, resets colours and puts the tty modes back.
private func restoreTerminalFromSignal() {
    if let sequence = restoreSequence { _ = write(STDOUT_FILENO, sequence.baseAddress, sequence.count) }
    _ = tcsetattr(STDIN_FILENO, TCSANOW, &savedTerminalModes)
}

/// The ncurses screen of `imagine live`: an image pane above a prompt line and a status line.
///
/// ncurses owns input and the two text lines. The picture (kitty, sixel or iTerm2 pixels, or
/// coloured symbols as SGR escapes, which would exhaust ncurses' colour pairs) is written straight
/// to the terminal after ncurses has refreshed; the image rows stay blank in ncurses' buffer, so
/// its diffs never touch them.
final class LiveScreen {
    /// Below this the screen shows a message instead of the layout.
    static let minimumColumns = 24, minimumRows = 6

    /// How pictures are drawn here, and why not better when the user could have better.
    let graphics: GraphicsDetection
    private let presenter: PicturePresenter
    private var drawnPicture: (jobID: Int, area: PictureLayout)?

    init(graphicsOptions: GraphicsOptions) throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw LiveError("imagine live needs a terminal on standard input and output")
        }
        Self.selectUTF8Locale()
        tcgetattr(STDIN_FILENO, &savedTerminalModes)
        // newterm, unlike initscr, returns nil for an unknown TERM instead of exiting.
        guard newterm(nil, stdout, stdin) != nil else {
            throw LiveError("cannot start the terminal interface (TERM=\(ProcessInfo.processInfo.environment["TERM"] ?? "unset"))")
        }
        screenIsOpen = true
        raw()  // Ctrl-C, Ctrl-W … arrive as keys instead of signals or line-discipline edits
        noecho()
        nonl()
        keypad(stdscr, true)
        nodelay(stdscr, true)
        set_escdelay(25)  // Esc quits; waiting the default second for an escape sequence feels broken
        // After newterm (terminfo is loaded) and raw (the replies cannot echo), before the first
        // refresh draws anything.
        graphics = graphicsOptions.detect(output: STDOUT_FILENO)
        presenter = PicturePresenter(graphics)
        // Keys typed while the model loaded came in with the terminal's replies: back to curses'
        // input, last first (it is a stack).
        for byte in graphics.typedMeanwhile.reversed() { ungetch(Int32(byte)) }
        // A kitty image outlives the program unless deleted; a fatal signal must delete it too.
        Self.prepareRestoreSequence(before: presenter.removalForExit())
        Self.installHandlers()
    }

    /// Removes the picture and ends ncurses (idempotent). Also run at exit and, in signal-safe
    /// form, on fatal signals.
    func close() {
        if screenIsOpen && isendwin() == false {
            let removal = presenter.removalForExit()
            removal.withUnsafeBytes { _ = write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            endwin()
        }
        screenIsOpen = false
    }

    /// Wide-character input and output need a UTF-8 locale; tmux and ssh often start with "C".
    private static func selectUTF8Locale() {
        setlocale(LC_ALL, "")
        if String(cString: nl_langinfo(nl_item(CODESET))) != "UTF-8" { setlocale(LC_ALL, "C.UTF-8") }
    }

    private static func prepareRestoreSequence(before picturesRemoval: [UInt8]) {
        var bytes = picturesRemoval
        for capability in ["sgr0", "cnorm", "rmkx", "rmcup"] {
            guard let value = capability.withCString({ tigetstr(UnsafeMutablePointer(mutating: $0)) }),
                  Int(bitPattern: value) != -1 else { continue }
            bytes += Array(String(cString: value).utf8)
        }
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
        _ = buffer.initialize(from: bytes)
        restoreSequence = buffer
    }

    private static func installHandlers() {
        // Normal exits that skip `close()` (exit() from anywhere).
        atexit {
            if screenIsOpen && isendwin() == false { endwin() }
        }
        // A parent may hand us these signals blocked (a test runner's worker thread spawning
        // tmux does); blocked, SIGTERM would stay pending and never restore anything. Threads
        // started earlier keep the inherited mask, so the signals come to this thread.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for signalNumber in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&stopSignals, signalNumber) }
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        // Asked to stop: restore, then exit with the conventional 128 + signal status.
        for signalNumber in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] {
            signal(signalNumber) { received in
                restoreTerminalFromSignal()
                _exit(128 + received)
            }
        }
        // Crashes: restore, then let the default action run (core dump, status).
        for signalNumber in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE] {
            signal(signalNumber) { received in
                restoreTerminalFromSignal()
                signal(received, SIG_DFL)
                raise(received)
            }
        }
    }

    // MARK: - Input

    /// What arrived from the keyboard since the last call. Printable characters that arrive
    /// together (a paste, a burst) come as one `.edit(.insert)`, so they cost one render.
    func readInput() -> (events: [LiveEvent], resized: Bool) {
        var events: [LiveEvent] = []
        var typed = String.UnicodeScalarView()
        var resized = false
        func flushTyped() {
            let text = PromptText.sanitized(String(typed))
            if !text.isEmpty { events.append(.edit(.insert(text))) }
            typed = String.UnicodeScalarView()
        }
        var character: wint_t = 0
        while true {
            let kind = wget_wch(stdscr, &character)
            if kind == ERR { break }
            if kind == OK, character >= 32, character != 127, let scalar = Unicode.Scalar(UInt32(character)) {
                typed.append(scalar)
                continue
            }
            flushTyped()
            if kind == OK && character == 27 {
                // Alt/Meta-prefixed keys (Alt-B, Meta-x) arrive as Esc and the key together:
                // ignore the pair. Only a lone Esc quits, or Alt-B would throw the prompt away.
                var next: wint_t = 0
                let nextKind = wget_wch(stdscr, &next)
                if nextKind != ERR {
                    if nextKind == KEY_CODE_YES && Int32(next) == KEY_RESIZE { resized = true }
                    continue
                }
            }
            if kind == KEY_CODE_YES && Int32(character) == KEY_RESIZE {
                resized = true
            } else if let event = Self.event(forKey: Int32(character), isFunctionKey: kind == KEY_CODE_YES) {
                events.append(event)
            }
        }
        flushTyped()
        return (events, resized)
    }

    private static func event(forKey key: Int32, isFunctionKey: Bool) -> LiveEvent? {
        if isFunctionKey {
            switch key {
            case KEY_LEFT: return .edit(.left)
            case KEY_RIGHT: return .edit(.right)
            case KEY_HOME: return .edit(.home)
            case KEY_END: return .edit(.end)
            case KEY_UP: return .edit(.historyPrevious)
            case KEY_DOWN: return .edit(.historyNext)
            case KEY_BACKSPACE: return .edit(.backspace)
            case KEY_DC: return .edit(.delete)
            case KEY_ENTER: return .enter
            default: return nil
            }
        }
        switch key {
        case 27, 3: return .quit                  // Esc, Ctrl-C
        case 13, 10: return .enter
        case 127, 8: return .edit(.backspace)     // DEL or ^H, by terminal
        case 1: return .edit(.home)               // Ctrl-A
        case 5: return .edit(.end)                // Ctrl-E
        case 21: return .edit(.deleteToStart)     // Ctrl-U
        case 11: return .edit(.deleteToEnd)       // Ctrl-K
        case 23: return .edit(.deleteWordBackward) // Ctrl-W
        case 18: return .reseed                   // Ctrl-R
        default: return nil
        }
    }

    // MARK: - Output

    /// Rows and columns now (they change with KEY_RESIZE).
    var size: (columns: Int, rows: Int) { (Int(getmaxx(stdscr)), Int(getmaxy(stdscr))) }

    /// Draws the whole screen. `picture` is the session's image as RGB (nil before the first).
    /// `forceImage` repaints the picture even if it has not changed (after a resize ncurses has
    /// cleared the terminal).
    func draw(session: LiveSession, picture: (jobID: Int, image: RGBImage)?, forceImage: Bool) {
        let (columns, rows) = size
        erase()
        guard columns >= Self.minimumColumns, rows >= Self.minimumRows else {
            let message = "terminal too small: \(columns)×\(rows), need \(Self.minimumColumns)×\(Self.minimumRows)"
            mvaddstr(0, 0, clipped(message, to: columns))
            refresh()
            if drawnPicture != nil {
                let removal = presenter.removePlaced()
                removal.withUnsafeBytes { _ = write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            }
            drawnPicture = nil
            return
        }
        let promptRow = rows - 2
        let (promptText, cursorColumn) = promptLine(session.editor, width: columns)
        mvaddstr(Int32(promptRow), 0, promptText)
        attron(reverseVideo)
        mvaddstr(Int32(rows - 1), 0, clipped(session.status.text, to: columns, padded: true))
        attroff(reverseVideo)
        move(Int32(promptRow), Int32(cursorColumn))
        refresh()

        guard let picture else { return }
        let area = PictureLayout(column: 0, row: 0, columns: columns, rows: rows - 2)
        if forceImage {
            // After a resize ncurses has cleared the screen, and the font (cell size) may have
            // changed with it.
            presenter.forgetPlaced()
            if let cell = TerminalProbe.windowCellSize(STDOUT_FILENO) { presenter.cell = cell }
        } else if let drawn = drawnPicture, drawn.jobID == picture.jobID, drawn.area == area {
            return
        }
        var output: [UInt8]
        do {
            output = try presenter.place(picture.image, in: area)
        } catch {
            output = Array("\u{1B}[1;1H\u{1B}[0mcannot draw the picture: \(error)".utf8)
        }
        output += Array("\u{1B}[\(promptRow + 1);\(cursorColumn + 1)H".utf8)
        output.withUnsafeBytes { _ = write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        drawnPicture = (picture.jobID, area)
    }

    /// "› " and the part of the prompt around the cursor that fits, and the cursor's column.
    private func promptLine(_ editor: PromptEditor, width: Int) -> (String, Int) {
        let marker = "› "
        let room = width - 2 - 1  // leave the last column free for the cursor at the end
        let characters = Array(editor.text)
        let widths = characters.map(TerminalWidth.columns(of:))
        var start = 0
        var beforeCursor = widths[..<editor.cursor].reduce(0, +)
        while beforeCursor > room {
            beforeCursor -= widths[start]
            start += 1
        }
        var end = start, used = 0
        while end < characters.count, used + widths[end] <= room {
            used += widths[end]
            end += 1
        }
        return (marker + String(characters[start..<end]), 2 + beforeCursor)
    }

    private func clipped(_ text: String, to width: Int, padded: Bool = false) -> String {
        var result = "", used = 0
        for character in text {
            let w = TerminalWidth.columns(of: character)
            if used + w > width { break }
            result.append(character)
            used += w
        }
        return padded ? result + String(repeating: " ", count: width - used) : result
    }
}

/// ncurses' A_REVERSE (NCURSES_BITS(1, 10)): a function-like macro, so Swift cannot import it.
private let reverseVideo = Int32(1 << 18)

/// `imagine live` could not start.
struct LiveError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
