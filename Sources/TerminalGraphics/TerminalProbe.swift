import Foundation

/// Asks the terminal what it can draw (through /dev/tty, whatever standard input is), and tmux
/// what is outside it.
public enum TerminalProbe {
    /// Kitty graphics query (a 1×1 image that is checked, not stored), XTVERSION, cell size in
    /// pixels, text area in pixels, and last Primary Device Attributes: every terminal answers
    /// that one, in order, so its reply means all the others that will come have come.
    public static let queries = "\u{1B}_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\u{1B}\\\u{1B}[>0q\u{1B}[16t\u{1B}[14t\u{1B}[c"

    /// How long to wait for the answers: local terminals answer within milliseconds; this leaves
    /// room for ssh. Only a terminal that answers nothing at all waits it out.
    public static let timeout: Duration = .milliseconds(500)

    /// Detection for `--graphics auto`, or the details (colours, cell size, tmux) for a mode the
    /// user chose, for pictures written to `output`. Queries are only sent when `output` is a
    /// terminal, and not to the Linux console or a dumb terminal, which would print them.
    public static func detect(requested: GraphicsMode?, output: Int32,
                              environment: [String: String] = ProcessInfo.processInfo.environment,
                              trueColorInTerminfo: Bool) -> GraphicsDetection {
        let term = environment["TERM"] ?? ""
        let interactive = isatty(output) == 1
        let tmux = environment["TMUX"] != nil ? tmuxInfo() : nil
        let canAsk = interactive && !["dumb", "linux", ""].contains(term)
        let replies = canAsk ? ask() : TerminalReplies()
        var detection = GraphicsDetection.decide(replies: replies, environment: environment,
                                                 trueColorInTerminfo: trueColorInTerminfo, tmux: tmux?.info)
        detection.cellSize = windowCellSize(output) ?? tmux?.cellSize ?? replies.cellSize
            ?? replies.textAreaPixels.flatMap { area in
                // The text area over the grid: for terminals that answer CSI 14 t but not 16 t.
                let (columns, rows) = windowSize(output)
                let cell = CellSize(width: area.width / columns, height: area.height / rows)
                return cell.width > 0 && cell.height > 0 ? cell : nil
            }
        detection.typedMeanwhile = replies.typed
        if let requested {
            detection.mode = requested
            detection.tmuxPassthrough = tmux != nil && requested.drawsPixels
            detection.hint = tmux?.info.passthroughAllowed == false && requested.drawsPixels
                ? GraphicsDetection.passthroughHint(requested) : nil
        } else if !interactive {
            // Written to a file or a pipe: text art, which any viewer of the text shows.
            detection.mode = .symbols
        }
        return detection
    }

    /// The cell size from the kernel's window size, when the terminal fills in pixels (xterm,
    /// kitty, foot, WezTerm do; many do not).
    public static func windowCellSize(_ descriptor: Int32) -> CellSize? {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0,
              size.ws_xpixel > 0, size.ws_ypixel > 0 else { return nil }
        return CellSize(width: Int(size.ws_xpixel) / Int(size.ws_col), height: Int(size.ws_ypixel) / Int(size.ws_row))
    }

    /// The terminal's size in cells, (80, 24) when `descriptor` is not a terminal.
    public static func windowSize(_ descriptor: Int32) -> (columns: Int, rows: Int) {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return (80, 24) }
        return (Int(size.ws_col), Int(size.ws_row))
    }

    /// Sends `queries` and collects the replies until Primary Device Attributes or the timeout,
    /// with echo and line buffering off meanwhile (so the replies never show).
    static func ask() -> TerminalReplies {
        let tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard tty >= 0 else { return TerminalReplies() }
        defer { close(tty) }
        // A background job (`imagine generate --show … &`) would be stopped by SIGTTOU for
        // changing the terminal's modes, and its replies would go to the shell: only the
        // foreground asks.
        guard tcgetpgrp(tty) == getpgrp() else { return TerminalReplies() }
        var saved = termios()
        guard tcgetattr(tty, &saved) == 0 else { return TerminalReplies() }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        tcsetattr(tty, TCSANOW, &raw)
        defer { tcsetattr(tty, TCSANOW, &saved) }

        let query = Array(queries.utf8)
        guard query.withUnsafeBytes({ write(tty, $0.baseAddress, $0.count) }) == query.count else {
            return TerminalReplies()
        }
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 1024)
        while ContinuousClock.now < deadline {
            let left = deadline - ContinuousClock.now
            let milliseconds = Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            var poller = pollfd(fd: tty, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, milliseconds) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(tty, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            received += buffer[..<count]
            if TerminalReplies(parsing: received).deviceAttributesSeen { break }
        }
        return TerminalReplies(parsing: received)
    }

    /// tmux's options and what it knows of the terminal it runs in, from `tmux display-message`.
    static func tmuxInfo() -> (info: GraphicsDetection.Tmux, cellSize: CellSize?)? {
        let fields = ["allow-passthrough", "client_termname", "client_termtype", "client_termfeatures",
                      "client_cell_width", "client_cell_height"]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tmux", "display-message", "-p", fields.map { "#{\($0)}" }.joined(separator: "\t")]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let values = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .newlines)
            .split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard values.count == fields.count else { return nil }
        // A format gives an on/off option as 1/0 (allow-passthrough also takes "all").
        let info = GraphicsDetection.Tmux(passthroughAllowed: ["1", "on", "all"].contains(values[0]),
                                          clientTermName: values[1], clientTermType: values[2],
                                          clientTermFeatures: values[3])
        let cell = Int(values[4]).flatMap { w in Int(values[5]).map { CellSize(width: w, height: $0) } }
        return (info, cell.flatMap { $0.width > 0 && $0.height > 0 ? $0 : nil })
    }
}
