import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A long-running helper program of a test (an X server, a terminal), started in a process group
/// of its own so that it and whatever it starts itself (kitty's helper processes) end together.
///
/// posix_spawn rather than Foundation's Process: the test runner's threads block most signals,
/// and a child inherits that mask. An X server or terminal must begin with none blocked and
/// default handlers, or SIGTERM and SIGCHLD would never reach it.
final class SpawnedProcess {
    let pid: pid_t
    /// The program's name, for messages.
    let name: String
    /// Where its stdout and stderr go.
    let log: URL
    /// The exit status once it has exited and been reaped (128 + N after signal N).
    private(set) var exitStatus: Int32?

    /// The program called `name` on the PATH, if any.
    static func executable(named name: String) -> URL? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return paths.map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Starts `arguments` (the program is looked up on the PATH) with exactly `environment`, stdin
    /// from /dev/null, stdout and stderr into `log`, and descriptor 3 writing the file
    /// `descriptor3` when given (Xvfb's `-displayfd 3` reports its display number there).
    init(_ arguments: [String], environment: [String: String], log: URL, descriptor3: URL? = nil) throws {
        guard let program = Self.executable(named: arguments[0]) else {
            throw SpawnError(description: "\(arguments[0]) is not on the PATH")
        }
        name = arguments[0]
        self.log = log
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        if let descriptor3 {
            posix_spawn_file_actions_addopen(&actions, 3, descriptor3.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        // Process group 0: a new group led by the child, so `stop` can signal the whole group.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let cArguments = ([program.path] + arguments.dropFirst()).map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program.path, &actions, &attributes, cArguments, cEnvironment)
        guard spawned == 0 else {
            throw SpawnError(description: "cannot start \(program.path): \(String(cString: strerror(spawned)))")
        }
        self.pid = pid
    }

    /// Whether the program still runs (an exited one is reaped here).
    var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { exitStatus = Self.exitStatus(status) }
        return exitStatus == nil
    }

    /// Waits at most `timeout` seconds for the program to exit; its exit status, or nil if it
    /// still runs.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        return exitStatus
    }

    // WIFEXITED / WEXITSTATUS are macros: exit code in bits 8–15 when the low 7 bits are 0.
    private static func exitStatus(_ status: Int32) -> Int32 {
        status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// What the program wrote to stdout and stderr so far, for error messages.
    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Ends its process group: SIGTERM, then SIGKILL if anything still runs after `grace`
    /// seconds; reaps the program, so no zombie stays behind.
    func stop(grace: TimeInterval = 2) {
        // Even when the leader has exited, members of its group (kitty's helpers) may remain.
        kill(-pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if isRunning || kill(-pid, 0) == 0 {
            kill(-pid, SIGKILL)
        }
        if exitStatus == nil {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            exitStatus = Self.exitStatus(status)
        }
    }
}

struct SpawnError: Error, CustomStringConvertible {
    let description: String
}
