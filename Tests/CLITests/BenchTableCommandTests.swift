import Foundation
import Testing

/// `imagine bench table` measures ours for real and the references through whatever Python it is
/// given: none, or a stand-in that answers like the carried script without torch or OpenVINO.
@Suite struct BenchTableCommandTests {
    /// Answers the version probes (openvino's only when `openvino` is set) and, as the script's
    /// OpenVINO engines, converts nothing, reports f32 at 500 ms and bf16 as this CPU lacking it.
    static func standInPython(openvino: Bool) -> String {
        """
        #!/bin/sh
        case "$2" in "import openvino"*) \(openvino ? "echo '2026.0 (stand-in)'; exit 0" : "exit 1");; import*) echo "torch 0 (stand-in)"; exit 0;; esac
        case "$3" in
          openvino-convert) echo '{"seconds": 0}';;
          openvino) case "$*" in *"--precision bf16"*) echo '{"unsupported": "no bf16 on this CPU"}';; *) echo '{"median": 0.5, "rss_mb": 100}';; esac;;
          *) exit 1;;
        esac
        """
    }

    static func table(_ extra: [String], in dir: URL) throws -> Imagine.Output {
        try Imagine.run(["bench", "table", Imagine.tinyModel, "--sizes", "64", "--runs", "1", "--threads", "1",
                         "--precision", "fp32"] + extra, in: dir, timeout: 120)
    }

    /// The cells of the table's rows (its header and separator left out).
    static func rows(_ output: Imagine.Output) -> [[String]] {
        output.stdoutLines.filter { $0.hasPrefix("| ") && !$0.hasPrefix("| component ") }.map {
            $0.dropFirst(2).dropLast(2).components(separatedBy: " | ")
        }
    }

    static func writeStandIn(openvino: Bool, in dir: URL) throws -> URL {
        let python = dir.appendingPathComponent("python")
        try Data(standInPython(openvino: openvino).utf8).write(to: python)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: python.path)
        return python
    }

    @Test func withoutAUsablePythonOnlyOurColumnsAreMeasured() throws {
        try withTemporaryDirectory { dir in
            let result = try Self.table(["--python", "/nonexistent/python"], in: dir)
            #expect(result.status == 0, "\(result)")
            let reason = "(no Python with torch, diffusers and transformers among /nonexistent/python)"
            #expect(result.stdout.contains("PyTorch: not measured \(reason)"), "\(result)")
            #expect(result.stdout.contains("OpenVINO: not measured \(reason)"), "\(result)")
            let header = try #require(result.stdoutLines.first { $0.hasPrefix("| component ") }, "\(result)")
            #expect(header.contains("| OpenVINO f32 | ratio | OpenVINO bf16 |"), "ours fp32: the ratio follows f32\n\(result)")
            let rows = Self.rows(result)
            #expect(rows.count == 4, "text encoder, U-Net batch 1 and 2, VAE\n\(result)")
            for cells in rows {
                #expect(cells.count == 14, "\(cells)")
                // Everything but the label, our time and our RSS.
                let references = cells.enumerated().filter { ![0, 1, 11].contains($0.offset) }.map(\.element)
                #expect(references.allSatisfy { $0 == "–" }, "\(cells)")
            }
        }
    }

    @Test func openVINOWithoutBF16SaysSoInItsCell() throws {
        try withTemporaryDirectory { dir in
            let python = try Self.writeStandIn(openvino: true, in: dir)
            let result = try Self.table(["--python", python.path, "--no-pytorch"], in: dir)
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("PyTorch: not measured (--no-pytorch)"), "\(result)")
            #expect(result.stdout.contains("OpenVINO: 2026.0 (stand-in) in \(python.path)"), "\(result)")
            let rows = Self.rows(result)
            #expect(rows.count == 4, "\(result)")
            for cells in rows {
                #expect(cells.count == 14, "\(cells)")
                #expect(cells[6] == "500.0 ms", "\(cells)")
                #expect(cells[7].hasPrefix("**") && cells[7].hasSuffix("**"), "the ratio to OpenVINO f32\n\(cells)")
                #expect(cells[8] == "no bf16 on this CPU", "\(cells)")
                #expect(cells[13] == "100 / – MB", "\(cells)")
            }
        }
    }

    @Test(arguments: [(["--no-openvino"], "--no-openvino"), ([], "openvino is not importable in ")])
    func openVINOLeftOutSaysWhy(flags: [String], reason: String) throws {
        try withTemporaryDirectory { dir in
            let python = try Self.writeStandIn(openvino: false, in: dir)
            let result = try Self.table(["--python", python.path, "--no-pytorch"] + flags, in: dir)
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("OpenVINO: not measured (\(reason)"), "\(result)")
            #expect(Self.rows(result).allSatisfy { $0[6...8].allSatisfy { $0 == "–" } }, "\(result)")
        }
    }
}
