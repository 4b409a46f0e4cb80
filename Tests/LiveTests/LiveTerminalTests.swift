import Foundation
import Testing

/// `imagine live` in a real terminal (tmux), driven by keys as a person would.
@Suite(.serialized, .enabled(if: TmuxSession.executable != nil, "tmux is not installed (bash .ci/setup installs it)"))
struct LiveTerminalTests {
    private let tinyModel = packageRoot.appendingPathComponent("Tests/Fixtures/pipeline/tiny-sd").path
    private static let cacheFolder = FileManager.default.temporaryDirectory.appendingPathComponent("imagine-live-cache-\(getpid())")

    /// Starts `imagine live` on the tiny model in a tmux pane; `body` gets the pane and the out dir.
    private func withLive(columns: Int = 100, rows: Int = 40, arguments: [String] = [],
                          environment: [String: String] = ["TERM": "xterm-256color", "COLORTERM": "truecolor"],
                          waitForStart: Bool = true, _ body: (TmuxSession, URL) throws -> Void) throws {
        let binary = try #require(imagineBinary, "no imagine binary next to \(CommandLine.arguments[0]); set IMAGINE_BINARY")
        let outDir = FileManager.default.temporaryDirectory.appendingPathComponent("imagine-live-\(UUID())")
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outDir) }
        let tmux = try TmuxSession(
            command: [binary.path, "live", "--model", tinyModel, "--out-dir", outDir.path, "--seed", "7",
                      "--steps", "4", "--threads", "1"] + arguments,
            columns: columns, rows: rows,
            // `--precision auto` keeps its measurement in the cache folder: the tests', not the user's.
            environment: environment.merging(["XDG_CACHE_HOME": Self.cacheFolder.path]) { given, _ in given })
        defer { tmux.close() }
        // A person waits for the program to be there before typing.
        if waitForStart {
            let ready = try tmux.waitUntil { try tmux.capture().contains("· seed 7 ·") || tmux.capture().contains("terminal too") }
            #expect(ready, "imagine live did not start: \(tmux.text)")
        }
        try body(tmux, outDir)
    }

    /// Cells of block symbols drawn in 24-bit colour (tmux shows no pixels without passthrough,
    /// so `auto` draws symbols here).
    private func showsPicture(_ pane: String) -> Bool {
        containsBlockSymbols(pane) && pane.contains("\u{1B}[38;2;") && pane.contains("48;2;")
    }

    /// Unicode's block elements (U+2580…U+259F: halves, eighths, quadrants), which every picture
    /// in symbols or half blocks is mostly made of.
    private func containsBlockSymbols(_ text: String) -> Bool {
        text.unicodeScalars.filter { (0x2580...0x259F).contains($0.value) }.count >= 20
    }

    @Test func typingShowsAPictureEnterSavesAPNGAndEscapeRestoresTheTerminal() throws {
        try withLive { tmux, outDir in
            try tmux.type("a red apple")
            let drawn = try tmux.waitUntil {
                let pane = try tmux.capture(escapes: true)
                return showsPicture(pane) && pane.contains("› a red apple") && pane.contains("seed 7 · steps 1/4")
                    && (pane.contains("tiny-sd · bf16, ") || pane.contains("tiny-sd · fp32, "))
            }
            #expect(drawn, "no picture and status line: \(tmux.text)")
            #expect(try tmux.pane("alternate_on") == "1")

            try tmux.press("Enter")
            var files: [String] = []
            let saved = try tmux.waitUntil {
                files = try FileManager.default.contentsOfDirectory(atPath: outDir.path).filter { $0.hasSuffix(".png") }
                let pane = try tmux.capture()
                return !files.isEmpty && pane.contains("saved ")
            }
            #expect(saved, "no PNG in \(outDir.path): \(tmux.text)")
            #expect(files == ["a-red-apple-7.png"])
            if let name = files.first {
                let bytes = try Data(contentsOf: outDir.appendingPathComponent(name))
                #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
                #expect(bytes.range(of: Data("parameters\u{0}a red apple\nSteps: 4, Sampler: Euler".utf8)) != nil)
            }

            try tmux.press("Escape")
            let exited = try tmux.waitUntil { try tmux.capture().contains("exited with status 0") }
            #expect(exited, "still running after Escape: \(tmux.text)")
            // The alternate screen was left and the cursor shown again: the picture is gone and
            // the saved path, printed after the terminal was restored, is on the normal screen.
            #expect(try tmux.pane("alternate_on") == "0")
            #expect(try tmux.pane("cursor_flag") == "1")
            let after = try tmux.capture()
            #expect(!containsBlockSymbols(after))
            #expect(after.contains(outDir.appendingPathComponent("a-red-apple-7.png").path))
        }
    }

    /// The restyle path: the picture is encoded and noised, the preview shows, Enter saves at the
    /// picture's own size (70×52 → 64×48) with A1111's img2img strength in its metadata.
    @Test func anInitImageIsRestyledAsYouTypeAndSavedAtItsSize() throws {
        let picture = packageRoot.appendingPathComponent("Tests/Fixtures/img2img/alpha-70x52.png").path
        try withLive(arguments: ["--init-image", picture, "--strength", "0.5"]) { tmux, outDir in
            try tmux.type("a fox")
            let drawn = try tmux.waitUntil {
                let pane = try tmux.capture(escapes: true)
                return showsPicture(pane) && pane.contains("› a fox") && pane.contains("seed 7 ·")
            }
            #expect(drawn, "no picture: \(tmux.text)")
            try tmux.press("Enter")
            var files: [String] = []
            let saved = try tmux.waitUntil {
                files = try FileManager.default.contentsOfDirectory(atPath: outDir.path).filter { $0.hasSuffix(".png") }
                let pane = try tmux.capture()
                return !files.isEmpty && pane.contains("saved ")
            }
            #expect(saved && files == ["a-fox-7.png"], "\(files): \(tmux.text)")
            if let name = files.first {
                let bytes = try Data(contentsOf: outDir.appendingPathComponent(name))
                #expect(bytes.range(of: Data("Size: 64x48, Model: tiny-sd, Denoising strength: 0.5, ".utf8)) != nil)
            }
            try tmux.press("Escape")
            #expect(try tmux.waitUntil { try tmux.capture().contains("exited with status 0") }, "\(tmux.text)")
        }
    }

    @Test func editingKeysAndHistoryWorkOnScreen() throws {
        try withLive { tmux, _ in
            try tmux.type("a red apple")
            try tmux.press("Enter")
            try tmux.press("C-w")
            try tmux.type("pear 日本 é")
            try tmux.press("Left", "Left", "C-k")
            #expect(try tmux.waitUntil { try tmux.capture().contains("› a red pear 日本\n") },
                    "\(tmux.text)")
            try tmux.press("C-u")
            try tmux.press("Up")
            #expect(try tmux.waitUntil { try tmux.capture().contains("› a red apple\n") }, "\(tmux.text)")
            try tmux.press("C-r")
            #expect(try tmux.waitUntil { try !tmux.capture().contains("seed 7 ") }, "\(tmux.text)")
            try tmux.press("C-c")
            #expect(try tmux.waitUntil { try tmux.capture().contains("exited with status 0") }, "\(tmux.text)")
            #expect(try tmux.pane("alternate_on") == "0")
        }
    }

    @Test func aTooSmallTerminalShowsAMessageUntilItGrows() throws {
        try withLive(columns: 16, rows: 4) { tmux, _ in
            #expect(try tmux.waitUntil { try tmux.capture().contains("terminal too") }, "\(tmux.text)")
            try tmux.resize(columns: 80, rows: 30)
            #expect(try tmux.waitUntil { showsPicture(try tmux.capture(escapes: true)) }, "\(tmux.text)")
            try tmux.press("Escape")
            #expect(try tmux.waitUntil { try tmux.capture().contains("exited with status 0") }, "\(tmux.text)")
        }
    }

    @Test func altAndMetaPrefixedKeysNeitherQuitNorEdit() throws {
        try withLive { tmux, _ in
            try tmux.type("abc")
            #expect(try tmux.waitUntil { try tmux.capture().contains("› abc") }, "\(tmux.text)")
            for key in ["M-b", "M-x", "M-Enter", "M-Left", "M-BSpace", "M-[", "M-O", "M-é"] { try tmux.press(key) }
            try tmux.type("d")
            #expect(try tmux.waitUntil { try tmux.capture().contains("› abcd") }, "\(tmux.text)")
            #expect(try tmux.commandPID() != nil, "quit on an Alt key: \(tmux.text)")
            try tmux.press("Escape")
            #expect(try tmux.waitUntil { try tmux.capture().contains("exited with status 0") }, "\(tmux.text)")
            #expect(try tmux.pane("alternate_on") == "0")
        }
    }

    @Test func everyTerminalSizeDownToOneCellIsSurvived() throws {
        try withLive(columns: 40, rows: 12) { tmux, _ in
            try tmux.type("a")
            for (columns, rows) in [(1, 1), (2, 1), (1, 5), (5, 2), (16, 3), (300, 2), (3, 100), (80, 30), (1, 1)] {
                try tmux.resize(columns: columns, rows: rows)
                try tmux.type("x")
                Thread.sleep(forTimeInterval: 0.1)
                #expect(try tmux.commandPID() != nil, "gone at \(columns)×\(rows): \(tmux.text)")
            }
            try tmux.resize(columns: 80, rows: 30)
            #expect(try tmux.waitUntil { showsPicture(try tmux.capture(escapes: true)) }, "\(tmux.text)")
            #expect(try tmux.waitUntil { try tmux.capture().contains("› axxxxxxxxx") }, "\(tmux.text)")
            try tmux.press("Escape")
            #expect(try tmux.waitUntil { try tmux.capture().contains("exited with status 0") }, "\(tmux.text)")
            #expect(try tmux.pane("alternate_on") == "0")
        }
    }

    @Test(arguments: ["dumb", "vt100", "xterm-mono", "linux", "no-such-terminal", ""])
    func aTERMThatDoesNotMatchTheTerminalEndsCleanly(term: String) throws {
        try withLive(environment: ["TERM": term], waitForStart: false) { tmux, _ in
            // Either the interface runs (and quits on Esc) or it refuses to start with a reason.
            let settled = try tmux.waitUntil {
                let pane = try tmux.capture()
                return pane.contains("seed 7") || pane.contains("exited with status")
            }
            #expect(settled, "TERM=\(term): \(tmux.text)")
            if try !tmux.capture().contains("exited with status") {
                try tmux.type("a")
                try tmux.press("Escape")
            }
            #expect(try tmux.waitUntil { try tmux.capture().contains("exited with status") }, "\(tmux.text)")
            let pane = try tmux.capture()
            #expect(pane.contains("exited with status 0") || (pane.contains("exited with status 1") && pane.contains("error:")),
                    "TERM=\(term): \(tmux.text)")
            #expect(try tmux.pane("alternate_on") == "0")
        }
    }

    @Test func sigtermRestoresTheTerminalBeforeExiting() throws {
        try withLive { tmux, _ in
            #expect(try tmux.waitUntil { showsPicture(try tmux.capture(escapes: true)) })
            let pid = try #require(try tmux.commandPID())
            kill(pid, SIGTERM)
            #expect(try tmux.waitUntil { try tmux.capture().contains("exited with status 143") }, "\(tmux.text)")
            #expect(try tmux.pane("alternate_on") == "0")
            #expect(try tmux.pane("cursor_flag") == "1")
            #expect(try !containsBlockSymbols(tmux.capture()))
        }
    }
}
