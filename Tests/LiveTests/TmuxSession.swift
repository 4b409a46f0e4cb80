import Foundation
import Testing

/// A detached tmux server of our own (its own socket, so a user's tmux is never touched) running
/// one command in a pane of a fixed size; the server is killed when this is closed.
final class TmuxSession {
    /// tmux on the PATH, if any.
    static let executable: URL? = {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return paths.map { URL(fileURLWithPath: String($0)).appendingPathComponent("tmux") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    private let socket = "imagine-live-test-\(UUID().uuidString.prefix(8))"
    private let name = "live"

    /// Starts `command` (argv) with `environment` added in a `columns` × `rows` pane, from a
    /// shell that prints "exited with status N" when it ends and then stays, so the test can read
    /// what the terminal was left showing.
    init(command: [String], columns: Int, rows: Int, environment: [String: String]) throws {
        let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let line = (["env"] + assignments + command).map(Self.shellQuoted).joined(separator: " ")
        try tmux(["-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "\(columns)", "-y", "\(rows)",
                  "\(line); echo \"exited with status $?\"; exec sleep 600"])
    }

    /// The process the pane's shell is running (the command under test), if it still runs.
    func commandPID() throws -> pid_t? {
        let shell = try pane("pane_pid")
        let children = try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)
        return children?.split(separator: " ").first.flatMap { pid_t($0) }
    }

    private static func shellQuoted(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    func close() {
        _ = try? tmux(["kill-server"])
    }

    /// `send-keys -l`: the text typed literally.
    func type(_ text: String) throws { try tmux(["send-keys", "-t", name, "-l", text]) }

    /// `send-keys` with tmux key names (Enter, Escape, C-w, Left).
    func press(_ keys: String...) throws { try tmux(["send-keys", "-t", name] + keys) }

    /// The pane's text; with `escapes`, including its colours as SGR sequences.
    func capture(escapes: Bool = false) throws -> String {
        try tmux(["capture-pane", "-p", "-t", name] + (escapes ? ["-e"] : []))
    }

    /// The pane's text for failure messages ("" if tmux cannot be asked).
    var text: String { (try? capture()) ?? "" }

    /// A tmux format variable of the pane (`alternate_on`, `cursor_flag`, `pane_pid`, …).
    func pane(_ variable: String) throws -> String {
        try tmux(["display-message", "-p", "-t", name, "#{\(variable)}"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func resize(columns: Int, rows: Int) throws {
        try tmux(["resize-window", "-t", name, "-x", "\(columns)", "-y", "\(rows)"])
    }

    /// Polls `condition` every 50 ms until it holds or `seconds` pass; returns whether it held.
    func waitUntil(seconds: Double = 30, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try condition()
    }

    @discardableResult
    private func tmux(_ arguments: [String]) throws -> String {
        // Output goes to a file, not a pipe: the server that new-session starts inherits the
        // client's descriptors and would hold a pipe open for ever.
        let capture = FileManager.default.temporaryDirectory.appendingPathComponent("imagine-tmux-\(UUID())")
        defer { try? FileManager.default.removeItem(at: capture) }
        let status = try Self.spawnAndWait([Self.executable!.path, "-L", socket] + arguments, output: capture.path)
        let text = (try? String(contentsOf: capture, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw TmuxError(description: "tmux \(arguments.joined(separator: " ")): status \(status): \(text)")
        }
        return text
    }

    /// Runs `argv` with stdout and stderr to `output` and waits for it.
    ///
    /// posix_spawn rather than Foundation's Process: the test runner's threads block most
    /// signals, and a child inherits that mask. tmux (and the `imagine` it starts) must begin with
    /// none blocked and default handlers, or SIGTERM and SIGCHLD would never be delivered.
    private static func spawnAndWait(_ argv: [String], output: String) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, environ)
        guard spawned == 0 else {
            throw TmuxError(description: "cannot start \(argv[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS are macros: exit code in bits 8–15 when the low 7 bits are 0.
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }
}

struct TmuxError: Error, CustomStringConvertible {
    let description: String
}

/// The `imagine` executable of this build: SwiftPM puts every product of one build in one folder,
/// so it sits next to the test executable (or the .xctest bundle holding it, on macOS).
/// IMAGINE_BINARY overrides this.
let imagineBinary: URL? = {
    if let path = ProcessInfo.processInfo.environment["IMAGINE_BINARY"] { return URL(fileURLWithPath: path) }
    var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = folder.appendingPathComponent("imagine")
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
           FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        folder.deleteLastPathComponent()
    }
    return nil
}()

/// The package root, from this file's path (Tests/LiveTests/TmuxSession.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
