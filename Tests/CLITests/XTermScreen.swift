import Foundation

/// A real terminal emulator on a private X server, running one command line, whose window a test
/// can photograph: what `imagine show` and `imagine live` draw is checked as a person would see it.
///
/// Each screen has its own Xvfb (a free display number, which `-displayfd` reports) and its own
/// temporary folder, used as HOME, so tests can run in parallel and neither a user's X resources
/// nor their kitty configuration changes what is drawn. The terminal sits at the screen's top-left
/// without border, internal border, padding or scroll bar, on a black background, so the character
/// grid starts at the top-left pixel of every screenshot.
///
/// The command runs from a `/bin/sh` script that, once it exits, hides the cursor (its look would
/// depend on which window has the focus, and so on where Xvfb put the pointer), records the exit
/// status, and keeps the window open for a while.
final class XTermScreen {
    /// The terminal emulator, with a font whose cell size in pixels is fixed.
    enum Terminal: String, Sendable {
        /// xterm as a VT340: sixel graphics (DA1 answers 4), 256 colour registers. Font: misc-fixed
        /// 6×13, the bitmap font `fixed` names, in its ISO 10646 encoding so block characters show.
        case xterm
        /// kitty (its graphics protocol), on Mesa's software OpenGL. Font: DejaVu Sans Mono at
        /// 10 pt on a 96 dpi screen, whose cells kitty makes 8×17 pixels (measured: kitty 0.26.5).
        case kitty

        /// The programs a screen of this terminal needs.
        var programs: [String] { ["Xvfb", "xwd", "xdotool", rawValue] }

        var cellSize: (width: Int, height: Int) {
            switch self {
            case .xterm: return (6, 13)
            case .kitty: return (8, 17)
            }
        }

        fileprivate func arguments(columns: Int, rows: Int, script: String) -> [String] {
            switch self {
            case .xterm:
                return ["xterm", "-ti", "vt340", "-u8",
                        "-fn", "-misc-fixed-medium-r-semicondensed--13-120-75-75-c-60-iso10646-1",
                        "-geometry", "\(columns)x\(rows)+0+0", "+sb", "-bw", "0", "-b", "0",
                        "-bg", "black", "-fg", "white",
                        "-xrm", "XTerm*numColorRegisters: 256", "-xrm", "XTerm*cursorBlink: false",
                        "-e", "/bin/sh", script]
            case .kitty:
                let (width, height) = (columns * cellSize.width, rows * cellSize.height)
                return ["kitty", "--config", "NONE",
                        "-o", "linux_display_server=x11",
                        "-o", "font_family=DejaVu Sans Mono", "-o", "font_size=10",
                        "-o", "initial_window_width=\(width)", "-o", "initial_window_height=\(height)",
                        "-o", "remember_window_size=no", "-o", "window_padding_width=0",
                        "-o", "placement_strategy=top-left",
                        "-o", "background=#000000", "-o", "foreground=#ffffff",
                        "-o", "cursor_blink_interval=0", "-o", "enable_audio_bell=no",
                        "/bin/sh", script]
            }
        }

        /// Variables the terminal itself needs.
        fileprivate var environment: [String: String] {
            switch self {
            case .xterm: return [:]
            // There is no GPU under Xvfb: Mesa's software renderer draws kitty's OpenGL.
            case .kitty: return ["LIBGL_ALWAYS_SOFTWARE": "1"]
            }
        }
    }

    /// The programs a screen of `terminal` needs that are not on the PATH.
    static func missingPrograms(_ terminal: Terminal) -> [String] {
        terminal.programs.filter { SpawnedProcess.executable(named: $0) == nil }
    }

    let terminal: Terminal
    let columns: Int
    let rows: Int
    /// A character cell's size in pixels.
    var cellSize: (width: Int, height: Int) { terminal.cellSize }
    /// The top-left pixel of the character grid in a screenshot: the corner, as the terminal has
    /// no border or padding.
    let gridOrigin = (x: 0, y: 0)
    /// The temporary folder of this screen (HOME of the terminal and the command).
    let folder: URL

    private var server: SpawnedProcess?
    private var terminalProcess: SpawnedProcess?
    /// The terminal's X window (what `WINDOWID` says inside it).
    private var window = ""
    private var display = ""
    private var closed = false

    /// Starts Xvfb and `terminal` with a `columns` × `rows` grid running `commandLine` (a
    /// `/bin/sh` command line), with this process's environment plus `environment`, and waits
    /// at most `startTimeout` seconds until the terminal runs it. Throws, with the programs'
    /// output, if either cannot start or the terminal's grid is not what was asked for.
    init(_ terminal: Terminal = .xterm, running commandLine: String, columns: Int = 80, rows: Int = 24,
         environment: [String: String] = [:], startTimeout: TimeInterval = 20) throws {
        self.terminal = terminal
        self.columns = columns
        self.rows = rows
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("imagine-screen-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        do {
            try start(commandLine, environment: environment, timeout: startTimeout)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    private func file(_ name: String) -> URL { folder.appendingPathComponent(name) }

    private func start(_ commandLine: String, environment: [String: String], timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        // Twice the terminal's size: a window larger than expected still fits, and the size
        // check below can name its size.
        let screenSize = "\(2 * columns * cellSize.width)x\(2 * rows * cellSize.height)x24"
        // -terminate: the server exits when its last client does, so that if this test process
        // dies without closing, the server goes when the terminal does.
        let server = try SpawnedProcess(
            ["Xvfb", "-displayfd", "3", "-screen", "0", screenSize, "-dpi", "96", "-nolisten", "tcp", "-terminate"],
            environment: ProcessInfo.processInfo.environment, log: file("Xvfb.log"), descriptor3: file("display"))
        self.server = server
        // Xvfb writes the display number and a newline once it accepts connections.
        let number = try waitFor("Xvfb to report its display", until: deadline, process: server) {
            let text = (try? String(contentsOf: self.file("display"), encoding: .utf8)) ?? ""
            return text.hasSuffix("\n") ? text.trimmingCharacters(in: .whitespacesAndNewlines) : nil
        }
        display = ":\(number)"

        // The command's window stays 120 s after it exits, for the test to photograph; no
        // longer, so that a terminal whose test process died closes by itself (and then Xvfb).
        let script = """
            printf '%s %s\\n' "$WINDOWID" "$(stty size)" > '\(file("started.tmp").path)'
            mv '\(file("started.tmp").path)' '\(file("started").path)'
            \(commandLine)
            status=$?
            printf '\\033[?25l'
            echo $status > '\(file("exited.tmp").path)'
            mv '\(file("exited.tmp").path)' '\(file("exited").path)'
            exec sleep 120

            """
        try script.write(to: file("command.sh"), atomically: true, encoding: .utf8)
        var variables = ProcessInfo.processInfo.environment
        // A desktop session's variables would send kitty to its Wayland compositor or make it
        // think it runs inside another kitty.
        for name in variables.keys where name.hasPrefix("WAYLAND_") || name.hasPrefix("KITTY_") {
            variables[name] = nil
        }
        variables.merge(["DISPLAY": display, "HOME": folder.path, "XDG_CONFIG_HOME": file("config").path,
                         "XDG_CACHE_HOME": file("cache").path, "LANG": "C.UTF-8"]) { _, screen in screen }
        variables.merge(terminal.environment) { _, terminal in terminal }
        variables.merge(environment) { _, given in given }
        let terminalProcess = try SpawnedProcess(
            terminal.arguments(columns: columns, rows: rows, script: file("command.sh").path),
            environment: variables, log: file("terminal.log"))
        self.terminalProcess = terminalProcess

        let started = try waitFor("\(terminal) to run the command", until: deadline, process: terminalProcess) {
            let text = (try? String(contentsOf: self.file("started"), encoding: .utf8)) ?? ""
            return text.isEmpty ? nil : text.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        guard started.count == 3, !started[0].isEmpty else {
            throw ScreenError(description: "\(terminal) gave the command no WINDOWID and size: \(started)")
        }
        window = started[0]
        guard Int(started[1]) == rows, Int(started[2]) == columns else {
            throw ScreenError(description: "\(terminal) made a \(started[2])×\(started[1]) grid, not \(columns)×\(rows)"
                + " (are its cells \(cellSize.width)×\(cellSize.height) pixels?)")
        }
        // The window may not be mapped yet when the command starts: xwd fails until it is.
        let shot = try waitFor("\(terminal)'s window to show", until: deadline, process: terminalProcess) {
            try? self.screenshot()
        }
        guard shot.width == columns * cellSize.width, shot.height == rows * cellSize.height else {
            throw ScreenError(description: "\(terminal)'s window is \(shot.width)×\(shot.height) pixels, not "
                + "\(columns)×\(rows) cells of \(cellSize.width)×\(cellSize.height)")
        }
    }

    /// Polls `value` every 20 ms until it is non-nil; throws when `deadline` passes or `process`
    /// exits first.
    private func waitFor<T>(_ what: String, until deadline: Date, process: SpawnedProcess,
                            _ value: () throws -> T?) throws -> T {
        while true {
            if let value = try value() { return value }
            guard process.isRunning else {
                throw ScreenError(description: "\(process.name) exited (status \(process.exitStatus ?? -1)) while waiting for \(what):\n\(process.output)")
            }
            guard Date() < deadline else {
                throw ScreenError(description: "timed out waiting for \(what); \(process.name) said:\n\(process.output)")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// The terminal's and the X server's process IDs, for tests that check nothing is left running.
    var processIDs: [pid_t] { [terminalProcess, server].compactMap { $0?.pid } }

    /// Waits at most `timeout` seconds for the command line to finish; its exit status.
    func waitForExit(timeout: TimeInterval = 10) throws -> Int32 {
        let status = try waitFor("the command to finish", until: Date().addingTimeInterval(timeout),
                                 process: terminalProcess!) {
            (try? String(contentsOf: self.file("exited"), encoding: .utf8)).flatMap {
                Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        return status
    }

    /// The terminal window as it is now: `columns × cellSize.width` by `rows × cellSize.height`
    /// pixels, the grid's top-left at `gridOrigin`.
    func screenshot() throws -> XWDImage {
        try XWDImage(bytes: try dumpWindow())
    }

    /// A screenshot once the window has stopped changing: dumps it every 50 ms until it has not
    /// changed for `quiet` seconds, for at most `timeout` seconds. Terminals draw in their own
    /// time: kitty (software OpenGL) shows output some 0.2 s after the command wrote it, measured.
    func settledScreenshot(quiet: TimeInterval = 0.5, timeout: TimeInterval = 10) throws -> XWDImage {
        let deadline = Date().addingTimeInterval(timeout)
        var previous = try dumpWindow()
        var unchangedSince = Date()
        while Date().timeIntervalSince(unchangedSince) < quiet {
            guard Date() < deadline else {
                throw ScreenError(description: "\(terminal)'s window still changed after \(timeout) s")
            }
            Thread.sleep(forTimeInterval: 0.05)
            let current = try dumpWindow()
            if current != previous {
                previous = current
                unchangedSince = Date()
            }
        }
        return try XWDImage(bytes: previous)
    }

    /// The first screenshot for which `condition` holds, taking one every 50 ms for at most
    /// `timeout` seconds; the last one taken if none does, for the test to show what went wrong.
    /// What a test expects to see can then appear whenever the terminal gets to draw it.
    func screenshot(timeout: TimeInterval = 10, until condition: (XWDImage) -> Bool) throws -> XWDImage {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let screenshot = try self.screenshot()
            if condition(screenshot) || Date() >= deadline { return screenshot }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// The pixel rectangle of `columns` × `rows` cells whose top-left cell is (`column`, `row`),
    /// counted from 0.
    func pixelRect(column: Int, row: Int, columns: Int, rows: Int) -> (x: Int, y: Int, width: Int, height: Int) {
        (gridOrigin.x + column * cellSize.width, gridOrigin.y + row * cellSize.height,
         columns * cellSize.width, rows * cellSize.height)
    }

    /// Types `text` into the terminal as keystrokes (`xdotool`, through the XTEST extension: xterm
    /// ignores synthetic events sent to a window, and without a window manager the keyboard focus
    /// follows the pointer, which is first moved onto the terminal: Xvfb starts it at the
    /// screen's centre, outside a small window).
    func type(_ text: String, delayMilliseconds: Int = 60) throws {
        try xdotool(["type", "--delay", "\(delayMilliseconds)", text])
    }

    /// Presses one key by its X name ("Return", "Escape").
    func press(_ key: String) throws {
        try xdotool(["key", key])
    }

    private func xdotool(_ arguments: [String]) throws {
        var variables = ProcessInfo.processInfo.environment
        variables["DISPLAY"] = display
        let process = try SpawnedProcess(["xdotool", "mousemove", "1", "1"] + arguments, environment: variables,
                                         log: file("xdotool.log"))
        guard let status = process.waitForExit(timeout: 30) else {
            process.stop()
            throw ScreenError(description: "xdotool did not finish in 30 s")
        }
        guard status == 0 else { throw ScreenError(description: "xdotool: status \(status): \(process.output)") }
    }

    /// `xwd -id WINDOW`: the window's pixels from the server, whatever lies on top of it.
    private func dumpWindow() throws -> [UInt8] {
        let output = file("screenshot.xwd")
        try? FileManager.default.removeItem(at: output)
        var variables = ProcessInfo.processInfo.environment
        variables["DISPLAY"] = display
        let xwd = try SpawnedProcess(["xwd", "-silent", "-id", window, "-out", output.path],
                                     environment: variables, log: file("xwd.log"))
        guard let status = xwd.waitForExit(timeout: 10) else {
            xwd.stop()
            throw ScreenError(description: "xwd did not finish in 10 s")
        }
        guard status == 0 else { throw ScreenError(description: "xwd: status \(status): \(xwd.output)") }
        return [UInt8](try Data(contentsOf: output))
    }

    /// Ends the terminal (and with it the command) and the X server, and removes the folder.
    /// Safe to call more than once; `deinit` calls it too.
    func close() {
        guard !closed else { return }
        closed = true
        terminalProcess?.stop()
        server?.stop()
        try? FileManager.default.removeItem(at: folder)
    }
}

struct ScreenError: Error, CustomStringConvertible {
    let description: String
}
