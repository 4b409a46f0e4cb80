import Foundation
import Testing

/// Input a hostile or careless user gives: prompt files that name paths outside the output
/// folder, numbers beyond what fits, sizes beyond the machine, output streams that fail, models
/// with corrupt values. Each must end as a clear error for that input, never a crash, a write
/// outside `--out-dir` or a silent black picture.
@Suite struct HostileInputTests {
    /// Runs `script` in bash in `directory` with `$IMAGINE` set to the binary; returns the exit
    /// status and standard error.
    static func shell(_ script: String, in directory: URL) throws -> (status: Int32, stderr: String) {
        let binary = try #require(Imagine.binary)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.merging(["IMAGINE": binary.path]) { $1 }
        let errors = directory.appendingPathComponent("shell-stderr")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: errors, encoding: .utf8))
    }

    @Test func promptFileOutputNamesCannotLeaveTheOutputFolder() throws {
        try withTemporaryDirectory { dir in
            let work = dir.appendingPathComponent("a/b")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            let hostile = ["../x.png", "../../x.png", "/tmp/imagine-escape-\(UUID()).png", "sub/../../y.png", "~/x.png",
                           ".", "..", "sub/.", "./x.png", ".hidden.png", "a//b.png", "sub/", ""]
            var lines = hostile.map { #"{"prompt": "escape", "out": \#(jsonString($0))}"# }
            lines.append(#"{"prompt": "kept", "out": "sub/kept.png"}"#)
            try lines.joined(separator: "\n").write(to: work.appendingPathComponent("p.jsonl"), atomically: true, encoding: .utf8)
            let run = try Imagine.generate(["--prompts", "p.jsonl", "--out-dir", "out", "--decoder", "latent"], in: work)
            #expect(run.status == 1, "\(run)")
            for (index, name) in hostile.enumerated() {
                #expect(run.stderrLines.contains { $0.hasPrefix("error: p.jsonl:\(index + 1): ") }, "\(name): \(run)")
            }
            #expect(run.stderrLines.contains { $0.contains("'..' would leave --out-dir") }, "\(run)")
            #expect(run.stderrLines.last == "\(hostile.count) of \(hostile.count + 1) prompts failed", "\(run)")
            // Only the one good line wrote anything, and only inside out/.
            #expect(fileNames(in: dir) == ["a/b/out/sub/kept.png", "a/b/p.jsonl"], "\(run)")
        }
    }

    @Test func guidanceOfAnySizeIsRecordedWithoutATrap() throws {
        try withTemporaryDirectory { dir in
            for (index, cfg) in ["1e30", "-1e30", "-5", "1234567890123"].enumerated() {
                let run = try Imagine.generate(["--cfg=\(cfg)", "--decoder", "latent", "--out-dir", "\(index)", "a"], in: dir)
                #expect(run.status == 0, "\(run)")
                let png = try PNGChunks(contentsOf: dir.appendingPathComponent("\(index)/00001-a.png"))
                let scale = try #require(Float(cfg))
                #expect(png.text["parameters"]?.contains("CFG scale: \(scale.magnitude < 1e9 ? String(Int(scale)) : String(scale)),")
                        == true, "\(png.text)")
            }
            // Near Float's limit the guided prediction overflows: the render stops at that step,
            // and no black picture is written.
            let overflow = try Imagine.generate(["--cfg=3e38", "--out-dir", "overflow", "a"], in: dir)
            #expect(overflow.status == 1 && overflow.stderr.contains("gave NaN or infinite latents"), "\(overflow)")
            #expect(fileNames(in: dir.appendingPathComponent("overflow")).isEmpty)
            // Beyond Float: refused as not finite.
            let run = try Imagine.generate(["--cfg=1e39", "a"], in: dir)
            #expect(run.status == 1 && run.stderr.contains("guidance scale must be finite"), "\(run)")
        }
    }

    @Test func aSizeBeyondTheMachinesMemoryIsRefusedWithTheNumbersAndTheBatchGoesOn() throws {
        try withTemporaryDirectory { dir in
            try """
                {"prompt": "huge", "width": 100000, "height": 100000}
                {"prompt": "enormous", "width": 9223372036854775800, "height": 8}
                {"prompt": "fine"}
                """.write(to: dir.appendingPathComponent("p.jsonl"), atomically: true, encoding: .utf8)
            let run = try Imagine.generate(["--prompts", "p.jsonl", "--decoder", "latent"], in: dir)
            #expect(run.status == 1, "\(run)")
            #expect(run.stderrLines.contains { $0.contains("p.jsonl:1") && $0.contains("100000×100000 image needs about")
                                               && $0.contains("GB of working memory") && $0.contains("more than this machine's") },
                    "\(run)")
            #expect(run.stderrLines.contains { $0.contains("p.jsonl:2") && $0.contains("working memory") }, "\(run)")
            #expect(fileNames(in: dir) == ["00003-fine.png", "p.jsonl"], "\(run)")
            let flags = try Imagine.generate(["--width", "100000", "--height", "100000", "a"], in: dir)
            #expect(flags.status == 1 && flags.stderr.contains("of working memory"), "\(flags)")
            // A size the decoder can hold, enlarged beyond memory when saved: refused before rendering.
            // 8× saves 64× the pixels at 6 bytes each: 1.5× this machine's memory; decoding them
            // (tiny-sd, latent decoder: 80 bytes per pixel) needs a third of it.
            let height = Int(1.5 * Double(ProcessInfo.processInfo.physicalMemory) / (6 * 64) / 8192) / 8 * 8
            try #"{"prompt": "wide", "width": 8192, "height": \#(height), "upscale": 8}"#
                .write(to: dir.appendingPathComponent("u.jsonl"), atomically: true, encoding: .utf8)
            let upscaled = try Imagine.generate(["--prompts", "u.jsonl", "--decoder", "latent", "--steps", "1"], in: dir)
            #expect(upscaled.status == 1 && upscaled.stderr.contains("saved 8× larger needs about"), "\(upscaled)")
        }
    }

    @Test func aFullOrClosedStandardOutputIsAnErrorNotATrap() throws {
        try withTemporaryDirectory { dir in
            let args = "generate --model '\(Imagine.tinyModel)' --steps 1 --decoder latent --seed 1 --threads 1 a b"
            let full = try Self.shell(#"exec "$IMAGINE" \#(args) --out-dir full > /dev/full"#, in: dir)
            #expect(full.status == 1, "\(full)")
            #expect(full.stderr.contains("full/00001-a.png was written but its record was not: cannot write to standard output: No space left on device"),
                    "\(full)")
            #expect(full.stderr.contains("stopping with 1 prompt not rendered") && !full.stderr.contains("Fatal error"), "\(full)")
            #expect(fileNames(in: dir.appendingPathComponent("full")) == ["00001-a.png"])

            // The reader exits before the first record: EPIPE, reported, not a silent SIGPIPE death.
            let closed = try Self.shell(#""$IMAGINE" \#(args) --out-dir pipe | true; exit "${PIPESTATUS[0]}""#, in: dir)
            #expect(closed.status == 1, "\(closed)")
            #expect(closed.stderr.contains("cannot write to standard output: Broken pipe"), "\(closed)")

            // A full standard error loses the messages but not the run's outcome.
            let quiet = try Self.shell(#"exec "$IMAGINE" \#(args) --out-dir err --cfg=1e39 2> /dev/full"#, in: dir)
            #expect(quiet.status == 1, "\(quiet)")
        }
    }

    @Test func negativeNumbersReachTheirOptionsAndAreJudgedThere() throws {
        try withTemporaryDirectory { dir in
            let steps = try Imagine.run(["generate", "--model", Imagine.tinyModel, "--steps", "-1", "a"], in: dir)
            #expect(steps.status != 0 && steps.stderr.contains("steps must be 1…1000") && !steps.stderr.contains("Missing value"),
                    "\(steps)")
            let cfg = try Imagine.generate(["--cfg", "-5", "--decoder", "latent", "a"], in: dir)
            #expect(cfg.status == 0, "\(cfg)")
            #expect(try cfg.jsonRecords().first?["cfg"] as? Double == -5)
            let seed = try Imagine.run(["generate", "--model", Imagine.tinyModel, "--seed", "-1", "a"], in: dir)
            #expect(seed.status != 0 && seed.stderr.contains("a seed is an integer 0…18446744073709551615, got '-1'"), "\(seed)")
            let threads = try Imagine.run(["generate", "--threads", "-3", "a"], in: dir)
            #expect(threads.status != 0 && threads.stderr.contains("--threads must be at least 1, got -3"), "\(threads)")
        }
    }

    @Test func outputFolderErrorsAreInWords() throws {
        try withTemporaryDirectory { dir in
            try Data().write(to: dir.appendingPathComponent("file"))
            for outDir in ["file", "file/sub", "/proc/imagine-cannot"] {
                let run = try Imagine.generate(["--out-dir", outDir, "a"], in: dir)
                #expect(run.status == 1, "\(run)")
                #expect(run.stderr.hasPrefix("error: cannot create the output folder"), "\(run)")
                #expect(!run.stderr.contains("Domain"), "\(run)")
            }
        }
    }

    @Test func seedsReadBackFromJSONLAsTheyWereRecorded() throws {
        try withTemporaryDirectory { dir in
            try """
                {"prompt": "max", "seed": 18446744073709551615}
                {"prompt": "string", "seed": "5"}
                {"prompt": "negative", "seed": -1}
                {"prompt": "fraction", "seed": 1.5}
                {"prompt": "whole", "seed": 3.0}
                {"prompt": "too big", "seed": 18446744073709551616}
                {"prompt": "bool", "steps": true}
                """.write(to: dir.appendingPathComponent("p.jsonl"), atomically: true, encoding: .utf8)
            let run = try Imagine.generate(["--prompts", "p.jsonl", "--decoder", "latent", "--dry-run"], in: dir)
            #expect(try run.jsonRecords().map { "\($0["seed"]!)" } == ["18446744073709551615", "3"], "\(run)")
            #expect(run.stderr.contains(#"p.jsonl:2: "seed" must be an integer 0…18446744073709551615, got the string "5""#), "\(run)")
            #expect(run.stderr.contains(#"p.jsonl:3: "seed" must be an integer"#), "\(run)")
            #expect(run.stderr.contains(#"p.jsonl:4: "seed" must be an integer"#), "\(run)")
            #expect(run.stderr.contains(#"p.jsonl:6: "seed" must be an integer"#), "\(run)")
            #expect(run.stderr.contains(#"p.jsonl:7: "steps" must be an integer, got true"#), "\(run)")
        }
    }

    @Test func resumeRemovesTheTemporaryFileOfAKilledWrite() throws {
        try withTemporaryDirectory { dir in
            let out = dir.appendingPathComponent("out")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            // What a write killed between creating and renaming its temporary file leaves.
            try Data([0x89, 0x50]).write(to: out.appendingPathComponent(".00001-a.png.k1ll3d"))
            try Data([1]).write(to: out.appendingPathComponent(".keep.png"))
            let run = try Imagine.generate(["--out-dir", "out", "--resume", "--decoder", "latent", "a"], in: dir)
            #expect(run.status == 0, "\(run)")
            #expect(fileNames(in: out) == [".keep.png", "00001-a.png"], "\(run)")
        }
    }

    @Test func nonFiniteWeightsFailNamingTheFileAndTensorAndWriteNoPicture() throws {
        // The VAE's decoder half: text-to-image never loads the encoder (see the inspect test below).
        for (component, prefix) in [("unet/diffusion_pytorch_model.safetensors", ""), ("text_encoder/model.safetensors", ""),
                                    ("vae/diffusion_pytorch_model.safetensors", "decoder.")] {
            for poison in [Float.nan, .infinity] {
                try withTemporaryDirectory { dir in
                    let model = dir.appendingPathComponent("model")
                    try FileManager.default.copyItem(at: URL(fileURLWithPath: Imagine.tinyModel), to: model)
                    let tensor = try poisonLargestTensor(model.appendingPathComponent(component), prefix: prefix, with: poison)
                    let run = try Imagine.run(["generate", "--model", model.path, "--steps", "1", "--out-dir", "out", "a"], in: dir)
                    #expect(run.status == 1, "\(run)")
                    #expect(run.stderr.contains("\(component): tensor '\(tensor)':") && run.stderr.contains("NaN or infinite"),
                            "\(run)")
                    #expect(fileNames(in: dir).allSatisfy { $0.hasPrefix("model/") }, "\(run)")

                    let inspect = try Imagine.run(["inspect", model.path], in: dir)
                    #expect(inspect.status == 1 && inspect.stderr.contains("tensor '\(tensor)'"), "\(inspect)")
                    let single = try Imagine.run(["inspect", model.appendingPathComponent(component).path], in: dir)
                    #expect(single.status == 1 && single.stderr.contains("NaN or infinite"), "\(single)")
                }
            }
        }
    }

    @Test func inspectReadsTheTensorsGenerateNeverLoads() throws {
        try withTemporaryDirectory { dir in
            let model = dir.appendingPathComponent("model")
            try FileManager.default.copyItem(at: URL(fileURLWithPath: Imagine.tinyModel), to: model)
            let tensor = try poisonLargestTensor(model.appendingPathComponent("vae/diffusion_pytorch_model.safetensors"),
                                                 prefix: "encoder.", with: .nan)
            let run = try Imagine.run(["inspect", model.path], in: dir)
            #expect(run.status == 1 && run.stderr.contains("tensor '\(tensor)'") && run.stderr.contains("NaN or infinite"),
                    "\(run)")
        }
    }

    @Test func inspectFailsOnAFolderThatWillNotLoad() throws {
        try withTemporaryDirectory { dir in
            let model = dir.appendingPathComponent("model")
            try FileManager.default.copyItem(at: URL(fileURLWithPath: Imagine.tinyModel), to: model)
            try FileManager.default.removeItem(at: model.appendingPathComponent("scheduler"))
            let run = try Imagine.run(["inspect", model.path], in: dir)
            #expect(run.status == 1, "\(run)")
            #expect(run.stderr.contains("missing scheduler"), "\(run)")
        }
    }
}

/// `text` as a JSON string literal.
func jsonString(_ text: String) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: [text], options: []), as: UTF8.self).dropFirst().dropLast()
        .description
}

/// Overwrites every value of the file's largest F32 tensor whose name starts with `prefix` with
/// `value`; returns its name.
func poisonLargestTensor(_ file: URL, prefix: String, with value: Float) throws -> String {
    var bytes = [UInt8](try Data(contentsOf: file))
    let length = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8 ..< 8 + length])) as? [String: Any])
    let tensors = header.compactMap { name, entry -> (name: String, range: Range<Int>)? in
        guard let entry = entry as? [String: Any], entry["dtype"] as? String == "F32",
              name.hasPrefix(prefix), let offsets = entry["data_offsets"] as? [Int] else { return nil }
        return (name, 8 + length + offsets[0] ..< 8 + length + offsets[1])
    }
    let largest = try #require(tensors.max { $0.range.count < $1.range.count })
    let pattern = withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
    for offset in stride(from: largest.range.lowerBound, to: largest.range.upperBound, by: 4) {
        bytes.replaceSubrange(offset ..< offset + 4, with: pattern)
    }
    try Data(bytes).write(to: file)
    return largest.name
}
