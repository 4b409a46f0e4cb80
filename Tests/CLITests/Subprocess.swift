import Dispatch
import Foundation
import Testing

/// Runs the built `imagine` binary the way a person would: a real process, its own working
/// directory, stdout and stderr captured, and a timeout so a hang fails the test instead of the run.
enum Imagine {
    /// What one run produced.
    struct Output: CustomStringConvertible {
        let arguments: [String]
        /// The exit status, or the signal number when `signalled`.
        let status: Int32
        let signalled: Bool
        let stdout: String
        let stderr: String
        let timedOut: Bool

        /// Standard output's non-empty lines.
        var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
        /// Standard error's non-empty lines.
        var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }

        /// Each stdout line parsed as a JSON object (a line that is not one fails the test).
        func jsonRecords(sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
            try stdoutLines.map { line in
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8))
                return try #require(object as? [String: Any], "stdout line is not a JSON object: \(line)",
                                    sourceLocation: sourceLocation)
            }
        }

        var description: String {
            "imagine \(arguments.joined(separator: " ")) → \(signalled ? "signal" : "status") \(status)"
                + "\(timedOut ? " (timed out)" : "")\n"
                + "--- stdout ---\n\(stdout)--- stderr ---\n\(stderr)"
        }
    }

    /// The package root, found from this file's path (Tests/CLITests/Subprocess.swift).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The tiny random-weight SD model (64×64 images, milliseconds per step).
    static let tinyModel = packageRoot.appendingPathComponent("Tests/Fixtures/pipeline/tiny-sd").path

    /// The `imagine` executable this test bundle was built with.
    ///
    /// SwiftPM puts every product of one build in one folder (`<scratch>/<triple>/<config>/`,
    /// linked from `<scratch>/<config>/`), and the `imagine` dependency of this test target makes
    /// it build the binary first. So the binary is a sibling of the running test executable (or of
    /// the `.xctest` bundle that contains it, on macOS), wherever `--scratch-path` put the build.
    /// `IMAGINE_BINARY` overrides this, to test an installed binary.
    static let binary: URL? = {
        if let path = ProcessInfo.processInfo.environment["IMAGINE_BINARY"] {
            return URL(fileURLWithPath: path)
        }
        // Linux: the test executable itself (`ImaginePackageTests.xctest`). macOS: a runner (xctest,
        // swiftpm-testing-helper) loads the `.xctest` bundle, which is then among the loaded bundles.
        let starts = [Bundle.main.executableURL, URL(fileURLWithPath: CommandLine.arguments[0])]
            + Bundle.allBundles.map { $0.bundleURL }
        for start in starts.compactMap({ $0?.resolvingSymlinksInPath() }) {
            // The products folder holds the `.xctest` (a file on Linux, a bundle folder on macOS).
            let components = start.pathComponents
            guard let bundle = components.lastIndex(where: { $0.hasSuffix(".xctest") }) else { continue }
            let candidate = URL(fileURLWithPath: NSString.path(withComponents: Array(components[..<bundle])))
                .appendingPathComponent("imagine")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory),
               !isDirectory.boolValue, FileManager.default.isExecutableFile(atPath: candidate.path) {
                return candidate
            }
        }
        return nil
    }()

    /// The cache folder every run of this test process uses (`XDG_CACHE_HOME`), so that tests never
    /// write the user's own cache and `--precision auto` measures once per test run.
    static let cacheFolder: URL = FileManager.default.temporaryDirectory
        .appendingPathComponent("imagine-cli-cache-\(getpid())")

    /// Runs `imagine arguments…` in `directory` with `environment` added to this process's (and
    /// `XDG_CACHE_HOME` at `cacheFolder` unless given) and waits for it (at most `timeout`
    /// seconds, after which it is killed and `timedOut` is set). Whatever the arguments, the tool
    /// must exit by itself: a crash (a signal: trap, segfault) or a hang is an issue of the calling test.
    static func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:],
                    timeout: TimeInterval = 60, sourceLocation: SourceLocation = #_sourceLocation) throws -> Output {
        let binary = try #require(
            Self.binary,
            "no imagine binary next to the test executable (\(CommandLine.arguments[0])); set IMAGINE_BINARY",
            sourceLocation: sourceLocation)
        // Output goes to files rather than pipes: a chatty child can never block on a full pipe
        // while we wait for it to exit.
        let capture = FileManager.default.temporaryDirectory.appendingPathComponent("imagine-capture-\(UUID())")
        try FileManager.default.createDirectory(at: capture, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: capture) }
        let stdoutURL = capture.appendingPathComponent("stdout"), stderrURL = capture.appendingPathComponent("stderr")
        try Data().write(to: stdoutURL)
        try Data().write(to: stderrURL)
        let stdoutHandle = try FileHandle(forWritingTo: stdoutURL)
        let stderrHandle = try FileHandle(forWritingTo: stderrURL)
        defer {
            try? stdoutHandle.close()
            try? stderrHandle.close()
        }

        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment
            .merging(["XDG_CACHE_HOME": cacheFolder.path]) { _, test in test }
            .merging(environment) { _, given in given }
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdoutHandle
        process.standardError = stderrHandle
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        var timedOut = false
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            process.terminate()
            exited.wait()
        }
        let output = Output(
            arguments: arguments,
            status: process.terminationStatus,
            signalled: process.terminationReason == .uncaughtSignal,
            stdout: String(decoding: try Data(contentsOf: stdoutURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: stderrURL), as: UTF8.self),
            timedOut: timedOut)
        #expect(!timedOut, "timed out after \(timeout) s: \(output)", sourceLocation: sourceLocation)
        #expect(output.signalled == timedOut, "crashed: \(output)", sourceLocation: sourceLocation)
        return output
    }

    /// `imagine generate --model tiny-sd` with small, fast defaults (64×64 by the model's native
    /// size, 4 steps, seed 7, one thread per process as the tests run in parallel, fp32 — the same
    /// pixels on every CPU — unless `arguments` name a precision) plus `arguments`.
    static func generate(_ arguments: [String], in directory: URL, seed: UInt64 = 7, threads: Int = 1,
                         environment: [String: String] = [:],
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> Output {
        let precision = arguments.contains("--precision") ? [] : ["--precision", "fp32"]
        return try run(["generate", "--model", tinyModel, "--steps", "4", "--seed", "\(seed)", "--threads", "\(threads)"]
                           + precision + arguments,
                       in: directory, environment: environment, sourceLocation: sourceLocation)
    }
}

/// A fresh, empty temporary folder, removed when the test body returns.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("imagine-cli-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    return try body(folder)
}

/// The files in `folder` (names only, sorted), recursively.
func fileNames(in folder: URL) -> [String] {
    let enumerator = FileManager.default.enumerator(atPath: folder.path)
    var names: [String] = []
    while let name = enumerator?.nextObject() as? String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path,
                                          isDirectory: &isDirectory), !isDirectory.boolValue {
            names.append(name)
        }
    }
    return names.sorted()
}
