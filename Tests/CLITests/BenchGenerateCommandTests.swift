import Foundation
import Testing

/// `imagine bench generate` times whole processes: ours for real, diffusers through whatever
/// Python it is given — here a stand-in that answers like the carried script without torch.
@Suite struct BenchGenerateCommandTests {
    /// Answers the version probe; as the diffusers script, copies the PNG it is asked to compare
    /// with to its output and reports them identical (so the run proves ours wrote one).
    static let standInPython = """
        #!/bin/sh
        case "$2" in import*) echo "torch 0 (stand-in)"; exit 0;; esac
        output="$5"; compare=""
        while [ $# -gt 0 ]; do [ "$1" = "--compare" ] && compare="$2"; shift; done
        if [ -n "$compare" ]; then cp "$compare" "$output" && echo '{"psnr_db": Infinity}'; else : > "$output"; fi
        """

    @Test func bothSidesRunAsWholeProcessesAndThePicturesAreCompared() throws {
        try withTemporaryDirectory { dir in
            let python = dir.appendingPathComponent("python")
            try Data(Self.standInPython.utf8).write(to: python)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: python.path)
            let result = try Imagine.run(["bench", "generate", Imagine.tinyModel, "--size", "64", "--steps", "2",
                                          "--cfg", "7.5", "--runs", "2", "--threads", "1", "--precision", "fp32",
                                          "--python", python.path], in: dir)
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("2 steps, 64², cfg 7.5, seed 1, 1 threads, 2 runs per side"), "\(result)")
            #expect(result.stdoutLines.contains { $0.hasPrefix("| imagine generate | ") && $0.hasSuffix(" MB |") },
                    "\(result)")
            #expect(result.stdoutLines.contains { $0.hasPrefix("| diffusers | ") }, "\(result)")
            #expect(result.stdout.contains("ratio ours / diffusers: **"), "\(result)")
            #expect(result.stdout.contains("pictures identical"), "the stand-in compared against our PNG\n\(result)")
        }
    }

    @Test func withoutAUsablePythonItSaysWhich() throws {
        try withTemporaryDirectory { dir in
            let result = try Imagine.run(["bench", "generate", Imagine.tinyModel, "--python", "/nonexistent/python"],
                                         in: dir)
            #expect(result.status != 0)
            #expect(result.stderr.contains("no Python with torch, diffusers and transformers among /nonexistent/python"),
                    "\(result)")
        }
    }
}
