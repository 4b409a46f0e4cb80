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

    static func table(_ extra: [String], model: String = Imagine.tinyModel, in dir: URL,
                      timeout: TimeInterval = 120) throws -> Imagine.Output {
        try Imagine.run(["bench", "table", model, "--sizes", "64", "--runs", "1", "--threads", "1",
                         "--precision", "fp32"] + extra, in: dir, timeout: timeout)
    }

    static let tinySDXL = Imagine.packageRoot.appendingPathComponent("Tests/Fixtures/pipeline-sdxl/tiny-sdxl").path
    /// SDXS's layout: its vae/ is an AutoencoderTiny, and there is no vae_tiny/.
    static let tinySDXS = Imagine.packageRoot.appendingPathComponent("Tests/Fixtures/pipeline-small/tiny-sdxs").path

    /// The Python the table finds by itself ($IMAGINE_PYTHON, else ~/.venvs/imagine), when it
    /// imports torch, diffusers and transformers; nil otherwise (CI without them).
    static let referencePython: String? = {
        let environment = ProcessInfo.processInfo.environment
        let candidates = [environment["IMAGINE_PYTHON"], environment["HOME"].map { "\($0)/.venvs/imagine/bin/python" }]
        for case let python? in candidates where FileManager.default.isExecutableFile(atPath: python) {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: python)
            probe.arguments = ["-c", "import torch, diffusers, transformers"]
            probe.standardOutput = FileHandle.nullDevice
            probe.standardError = FileHandle.nullDevice
            guard (try? probe.run()) != nil else { continue }
            probe.waitUntilExit()
            if probe.terminationStatus == 0 { return python }
        }
        return nil
    }()

    /// The labels of the table's rows.
    static func labels(_ output: Imagine.Output) -> [String] { rows(output).map { $0[0] } }

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

    @Test func sdxlHasBothTextEncodersAndASDXLUNet() throws {
        try withTemporaryDirectory { dir in
            let result = try Self.table(["--python", "/nonexistent/python"], model: Self.tinySDXL, in: dir)
            #expect(result.status == 0, "\(result)")
            let labels = Self.labels(result)
            #expect(labels.count == 5, "text encoders 1 and 2, U-Net batch 1 and 2, VAE\n\(result)")
            #expect(labels.first { $0.hasPrefix("text encoder (") } != nil, "\(labels)")
            #expect(labels.first { $0.hasPrefix("text encoder 2 (") && $0.hasSuffix(", 77 tokens") } != nil, "\(labels)")
            #expect(labels.filter { $0.hasPrefix("U-Net SDXL ") && $0.contains("64² (8×8 latent)") }.count == 2, "\(labels)")
            #expect(labels.contains("VAE decode 64²"), "\(labels)")
            #expect(Self.rows(result).allSatisfy { $0.count == 14 && $0[1] != "–" && $0[11] != "–" }, "\(result)")
        }
    }

    @Test func sdxsTimesItsTinyVAEAsItsOnlyDecoder() throws {
        try withTemporaryDirectory { dir in
            let result = try Self.table(["--python", "/nonexistent/python", "--no-guided-batch"], model: Self.tinySDXS, in: dir)
            #expect(result.status == 0, "\(result)")
            let labels = Self.labels(result)
            #expect(labels.count == 3, "text encoder, U-Net at batch 1 only, the tiny VAE\n\(result)")
            #expect(labels.filter { $0.hasPrefix("U-Net") }.count == 1, "\(labels)")
            #expect(labels.last == "tiny VAE (vae/) decode 64²", "\(labels)")
            #expect(!labels.contains { $0.hasPrefix("VAE") || $0.hasPrefix("text encoder 2") }, "\(labels)")
        }
    }

    @Test func componentsPicksRows() throws {
        try withTemporaryDirectory { dir in
            let result = try Self.table(["--python", "/nonexistent/python", "--components", "unet", "--sizes", "64,32"],
                                        model: Self.tinySDXL, in: dir)
            #expect(result.status == 0, "\(result)")
            let sizes = Self.labels(result).map { label in String(label.drop(while: { $0 != "," })) }
            #expect(sizes == [", 64² (8×8 latent)", ", 32² (4×4 latent)", ", 64² (8×8 latent), batch 2"], "\(result)")
            let wrong = try Self.table(["--components", "unet,decoder"], in: dir)
            #expect(wrong.status != 0 && wrong.stderr.contains("--components takes text-encoder, unet, vae and taesd"), "\(wrong)")
        }
    }

    /// The real references on SDXL's and SDXS's layouts: both sides read the same pooled text and
    /// time ids (else the U-Net's error would be of order 1), and the second text encoder and the
    /// tiny VAE are compared as the others are. OpenVINO (slow to convert) on SDXL's only, whose
    /// U-Net takes the extra inputs.
    @Test(.enabled(if: referencePython != nil, "no Python with torch, diffusers and transformers"),
          arguments: [tinySDXL, tinySDXS])
    func referencesAgreeOnEveryRow(model: String) throws {
        try withTemporaryDirectory { dir in
            let result = try Self.table(["--python", Self.referencePython!, "--no-guided-batch"]
                                            + (model == Self.tinySDXS ? ["--no-openvino"] : []),
                                        model: model, in: dir, timeout: 900)
            #expect(result.status == 0, "\(result)")
            let rows = Self.rows(result)
            #expect(rows.count == (model == Self.tinySDXL ? 4 : 3), "\(result)")
            let openVINO = !result.stdout.contains("OpenVINO: not measured")
            for cells in rows {
                #expect(cells.count == 14, "\(cells)")
                #expect(cells[2] != "–" && cells[4] != "–", "PyTorch measured\n\(cells)")
                let error = try #require(Double(cells[9]), "\(cells)")
                #expect(error < 1e-4, "ours fp32 against PyTorch\n\(cells)")
                if openVINO {
                    let f32 = try #require(Double(cells[10].components(separatedBy: " / ")[0]), "\(cells)")
                    #expect(f32 < 1e-4, "OpenVINO f32 against PyTorch\n\(cells)")
                }
            }
        }
    }
}
