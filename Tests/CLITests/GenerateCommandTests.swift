import Foundation
import Testing

/// `imagine generate` end to end: the real binary on the tiny random-weight model (64×64, a few
/// milliseconds per image), each test in its own temporary folder as its working directory.
@Suite struct GenerateCommandTests {
    /// The samplers the CLI promises (Generate.swift's --sampler help, README).
    static let samplers = ["euler", "euler_a", "ddim", "lcm", "dpm++2m", "dpm++2m-karras"]

    // MARK: - Prompts as arguments

    @Test func promptsAsArgumentsBecomeNumberedPNGsWithTheirSettings() throws {
        try withTemporaryDirectory { dir in
            // The third is not Latin-1: its text goes in an iTXt chunk, and its name falls back to "image".
            let prompts = ["A red apple, on a table!", "blue  sky", "東京の夜 🌃"]
            let run = try Imagine.generate(["--out-dir", "out", "--negative", "blurry, dark"] + prompts, in: dir)
            #expect(run.status == 0, "\(run)")
            #expect(!run.stderr.contains("error"), "\(run)")
            #expect(!run.stderr.contains("\u{1B}"), "a progress bar on a stderr that is not a terminal: \(run)")

            let out = dir.appendingPathComponent("out")
            let names = ["00001-a-red-apple-on-a-table.png", "00002-blue-sky.png", "00003-image.png"]
            #expect(fileNames(in: out) == names)

            let records = try run.jsonRecords()
            try #require(records.count == 3, "one JSON line per image: \(run)")
            for (index, (name, prompt)) in zip(names, prompts).enumerated() {
                let file = out.appendingPathComponent(name)
                let png = try PNGChunks(contentsOf: file)
                #expect(png.width == 64 && png.height == 64)
                #expect(png.bitDepth == 8 && png.colorType == 2, "8-bit RGB")
                let parameters = try #require(png.text["parameters"], "no parameters chunk in \(name)")
                let lines = parameters.split(separator: "\n").map(String.init)
                #expect(lines.count == 3, "prompt, negative prompt, settings: \(parameters)")
                #expect(Array(lines.prefix(2)) == [prompt, "Negative prompt: blurry, dark"])
                let settings = try #require(lines.last)
                for field in ["Steps: 4", "Sampler: Euler", "CFG scale: 7.5", "Seed: 7", "Size: 64x64",
                              "Model: tiny-sd", "Decoder: vae", "Precision: fp32"] {
                    #expect(settings.contains(field), "\(field) missing from \(settings)")
                }

                let record = records[index]
                let path = try #require(record["path"] as? String)
                #expect(URL(fileURLWithPath: path).resolvingSymlinksInPath().path
                        == file.resolvingSymlinksInPath().path)
                #expect(record["prompt"] as? String == prompt)
                #expect(record["negative"] as? String == "blurry, dark")
                #expect((record["line"] as? NSNumber)?.intValue == index + 1)
                #expect((record["seed"] as? NSNumber)?.intValue == 7)
                #expect((record["steps"] as? NSNumber)?.intValue == 4)
                #expect((record["cfg"] as? NSNumber)?.doubleValue == 7.5)
                #expect((record["width"] as? NSNumber)?.intValue == 64)
                #expect((record["height"] as? NSNumber)?.intValue == 64)
                #expect(record["sampler"] as? String == "euler")
                #expect(record["decoder"] as? String == "vae")
                #expect(record["precision"] as? String == "fp32")
                #expect(((record["seconds"] as? NSNumber)?.doubleValue ?? -1) >= 0)
            }
        }
    }

    // MARK: - Determinism

    @Test func theSameSeedGivesTheSamePixelsOnAnyRunAndThreadCount() throws {
        try withTemporaryDirectory { dir in
            // One process, the same prompt twice; another process with two threads; a third seed.
            let one = try Imagine.generate(["--out-dir", "one", "a lighthouse", "a lighthouse"], in: dir, threads: 1)
            let two = try Imagine.generate(["--out-dir", "two", "a lighthouse"], in: dir, threads: 2)
            let other = try Imagine.generate(["--out-dir", "other", "a lighthouse"], in: dir, seed: 8)
            for run in [one, two, other] { #expect(run.status == 0, "\(run)") }

            let first = dir.appendingPathComponent("one/00001-a-lighthouse.png")
            let again = dir.appendingPathComponent("one/00002-a-lighthouse.png")
            let threaded = dir.appendingPathComponent("two/00001-a-lighthouse.png")
            let reseeded = dir.appendingPathComponent("other/00001-a-lighthouse.png")
            let pixels = try PNGChunks(contentsOf: first).imageData
            #expect(try PNGChunks(contentsOf: again).imageData == pixels, "same seed, same process")
            #expect(try Data(contentsOf: threaded) == Data(contentsOf: first), "--threads 2 vs --threads 1")
            #expect(try PNGChunks(contentsOf: reseeded).imageData != pixels, "seed 8 drew the same noise as seed 7")
        }
    }

    /// Whether this CPU has AVX512-BF16 (what `--precision bf16` needs).
    static let cpuHasBF16: Bool = {
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return flags.contains(" avx512_bf16")
    }()

    @Test(.enabled(if: cpuHasBF16, "this CPU has no AVX512-BF16"))
    func bf16IsRecordedAndTheSameOnAnyThreadCount() throws {
        try withTemporaryDirectory { dir in
            let one = try Imagine.generate(["--out-dir", "one", "--precision", "bf16", "a lighthouse"], in: dir, threads: 1)
            let two = try Imagine.generate(["--out-dir", "two", "--precision", "bf16", "a lighthouse"], in: dir, threads: 2)
            let full = try Imagine.generate(["--out-dir", "full", "a lighthouse"], in: dir)
            for run in [one, two, full] { #expect(run.status == 0, "\(run)") }
            let name = "00001-a-lighthouse.png"
            let bf16 = dir.appendingPathComponent("one/" + name)
            #expect(try Data(contentsOf: dir.appendingPathComponent("two/" + name)) == Data(contentsOf: bf16),
                    "--threads 2 vs --threads 1")
            #expect(try PNGChunks(contentsOf: bf16).imageData
                    != PNGChunks(contentsOf: dir.appendingPathComponent("full/" + name)).imageData, "bf16 ran as fp32")
            #expect(try PNGChunks(contentsOf: bf16).text["parameters"]?.contains("Precision: bf16") == true)
            #expect(try one.jsonRecords().first?["precision"] as? String == "bf16")
        }
    }

    @Test func anUnknownPrecisionIsRefusedWithTheChoices() throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.generate(["--precision", "fp8", "apple"], in: dir)
            #expect(run.status != 0)
            #expect(run.stderr.contains("fp8") && run.stderr.contains("bf16"), "\(run)")
        }
    }

    // MARK: - Upscaling

    @Test func upscaleEnlargesTheSavedPictureAndSaysSo() throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.generate(["--upscale", "4", "a lighthouse"], in: dir)
            #expect(run.status == 0, "\(run)")
            let png = try PNGChunks(contentsOf: dir.appendingPathComponent("00001-a-lighthouse.png"))
            #expect(png.width == 256 && png.height == 256, "64² × 4")
            let settings = try #require(png.text["parameters"]?.split(separator: "\n").last.map(String.init))
            for field in ["Size: 64x64", "Postprocess upscale by: 4", "Postprocess upscaler: Bicubic"] {
                #expect(settings.contains(field), "\(field) missing from \(settings)")
            }
            let record = try #require(try run.jsonRecords().first)
            #expect((record["upscale"] as? NSNumber)?.intValue == 4)
            #expect((record["width"] as? NSNumber)?.intValue == 64, "the size the model rendered")
        }
    }

    @Test func aPromptFileLineSetsItsOwnUpscaleOverTheOption() throws {
        try withTemporaryDirectory { dir in
            let lines = [
                #"{"prompt": "own", "upscale": 3}"#,   // 1: its own factor
                "plain",                                // 2: the option's
                #"{"prompt": "big", "upscale": 9}"#,   // 3: refused, the others still render
            ]
            try lines.joined(separator: "\n").write(to: dir.appendingPathComponent("p.jsonl"), atomically: true,
                                                    encoding: .utf8)
            let run = try Imagine.generate(["--upscale", "2", "--prompts", "p.jsonl"], in: dir)
            #expect(run.status == 1, "\(run)")
            #expect(run.stderr.contains("p.jsonl:3: \"upscale\" must be 1…8, got 9"), "\(run)")
            #expect(try PNGChunks(contentsOf: dir.appendingPathComponent("00001-own.png")).width == 192)
            #expect(try PNGChunks(contentsOf: dir.appendingPathComponent("00002-plain.png")).width == 128)
            #expect(try run.jsonRecords().compactMap { ($0["upscale"] as? NSNumber)?.intValue } == [3, 2])
        }
    }

    @Test(arguments: ["0", "9"])
    func anUpscaleOutsideOneToEightIsRefused(value: String) throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.generate(["--upscale", value, "apple"], in: dir)
            #expect(run.status != 0)
            #expect(run.stderr.contains("--upscale must be 1…8, got \(value)"), "\(run)")
            #expect(fileNames(in: dir).isEmpty, "nothing written: \(run)")
        }
    }

    // MARK: - Never overwrite

    @Test func anExistingFileGetsANumberedSiblingAndIsLeftAlone() throws {
        try withTemporaryDirectory { dir in
            let existing = dir.appendingPathComponent("00001-apple.png")
            let original = Data("someone's picture".utf8)
            try original.write(to: existing)

            let run = try Imagine.generate(["apple"], in: dir)
            #expect(run.status == 0, "\(run)")
            #expect(try Data(contentsOf: existing) == original, "the existing file was overwritten")
            #expect(fileNames(in: dir) == ["00001-apple-2.png", "00001-apple.png"])
            _ = try PNGChunks(contentsOf: dir.appendingPathComponent("00001-apple-2.png"))
            let path = try #require(try run.jsonRecords().first?["path"] as? String)
            #expect(path.hasSuffix("/00001-apple-2.png"))
        }
    }

    // MARK: - Prompt files

    @Test func aPromptFileRendersItsGoodLinesAndReportsEachBadOneWithItsLineNumber() throws {
        try withTemporaryDirectory { dir in
            let lines = [
                "a plain prompt",                                                        // 1
                "# a comment",                                                           // 2
                "",                                                                      // 3
                #"{"prompt": "json prompt", "seed": 11, "steps": 2, "cfg": 2.5, "width": 48, "height": 32, "sampler": "ddim", "out": "sub/custom.png"}"#,  // 4
                #"{"prompt": "broken","#,                                                // 5
                #"{"prompt": "x", "colour": "red"}"#,                                    // 6
                #"{"prompt": "y", "sampler": "heun"}"#,                                  // 7
                #"{"prompt": "z", "width": 60}"#,                                        // 8
                "  another plain prompt  ",                                              // 9
            ]
            try lines.joined(separator: "\n").appending("\n")
                .write(to: dir.appendingPathComponent("prompts.txt"), atomically: true, encoding: .utf8)

            // An --out-dir that does not exist yet: the JSONL "out" must land inside it.
            let run = try Imagine.generate(["--prompts", "prompts.txt", "--out-dir", "out"], in: dir)
            #expect(run.status == 1, "\(run)")

            // The good lines rendered, and nothing else (not even outside --out-dir).
            #expect(fileNames(in: dir) == ["out/00001-a-plain-prompt.png", "out/00009-another-plain-prompt.png",
                                           "out/sub/custom.png", "prompts.txt"], "\(run)")
            let records = try run.jsonRecords()
            #expect(records.compactMap { ($0["line"] as? NSNumber)?.intValue } == [1, 4, 9], "\(run)")
            #expect(records.compactMap { $0["prompt"] as? String }
                    == ["a plain prompt", "json prompt", "another plain prompt"])

            // Line 4's own settings, in its JSON record and its PNG.
            if let json = records.first(where: { ($0["line"] as? NSNumber)?.intValue == 4 }) {
                #expect((json["seed"] as? NSNumber)?.intValue == 11)
                #expect((json["steps"] as? NSNumber)?.intValue == 2)
                #expect((json["cfg"] as? NSNumber)?.doubleValue == 2.5)
                #expect((json["width"] as? NSNumber)?.intValue == 48)
                #expect((json["height"] as? NSNumber)?.intValue == 32)
                #expect(json["sampler"] as? String == "ddim")
                #expect((json["path"] as? String)?.hasSuffix("/out/sub/custom.png") == true, "\(json)")
            }
            let custom = dir.appendingPathComponent("out/sub/custom.png")
            if FileManager.default.fileExists(atPath: custom.path) {
                let png = try PNGChunks(contentsOf: custom)
                #expect(png.width == 48 && png.height == 32)
                let parameters = png.text["parameters"] ?? ""
                for field in ["json prompt\n", "Steps: 2", "Sampler: DDIM", "CFG scale: 2.5", "Seed: 11", "Size: 48x32"] {
                    #expect(parameters.contains(field), "\(field) missing from \(parameters)")
                }
            }
            // Lines without settings of their own take the command's.
            let plain = try PNGChunks(contentsOf: dir.appendingPathComponent("out/00009-another-plain-prompt.png"))
            #expect(plain.text["parameters"]?.hasPrefix("another plain prompt\nSteps: 4, Sampler: Euler") == true)

            // Each bad line on stderr with FILE:LINE and why.
            let errors = run.stderrLines.filter { $0.hasPrefix("error:") }
            func reported(_ line: Int, _ reason: String) -> Bool {
                errors.contains { $0.contains("prompts.txt:\(line)") && $0.contains(reason) }
            }
            #expect(reported(5, "JSON"), "\(run)")
            #expect(reported(6, "colour"), "\(run)")
            #expect(reported(7, "heun"), "\(run)")
            #expect(errors.contains { $0.contains("prompts.txt:7") && Self.samplers.allSatisfy($0.contains) },
                    "the unknown sampler's error lists the known ones: \(run)")
            #expect(reported(8, "multiple"), "\(run)")
            #expect(errors.count == 4, "exactly the four bad lines: \(run)")
            #expect(!run.stderr.contains("prompts.txt:1:") && !run.stderr.contains("prompts.txt:2:")
                    && !run.stderr.contains("prompts.txt:3:"), "comments and blank lines are not errors: \(run)")
            #expect(run.stderrLines.last == "4 of 7 prompts failed", "\(run)")
        }
    }

    /// JSONL numbers are numbers, whatever their value: the README's own example line has `"seed": 1`,
    /// and SD-Turbo lines have `"steps": 1, "cfg": 0`.
    @Test func promptFileNumbersZeroAndOneAreNumbers() throws {
        try withTemporaryDirectory { dir in
            let lines = [
                #"{"prompt": "readme example", "seed": 1, "steps": 3}"#,
                #"{"prompt": "turbo", "seed": 0, "steps": 1, "cfg": 0}"#,
                #"{"prompt": "guidance off", "cfg": 1.0}"#,
                #"{"prompt": "a bool is not a seed", "seed": true}"#,
            ]
            try lines.joined(separator: "\n").write(to: dir.appendingPathComponent("p.jsonl"), atomically: true,
                                                    encoding: .utf8)
            let run = try Imagine.generate(["--prompts", "p.jsonl"], in: dir)
            #expect(run.status == 1, "\(run)")
            #expect(fileNames(in: dir) == ["00001-readme-example.png", "00002-turbo.png", "00003-guidance-off.png",
                                           "p.jsonl"], "\(run)")
            let records = try run.jsonRecords()
            if records.count == 3 {
                #expect(records.map { ($0["seed"] as? NSNumber)?.intValue } == [1, 0, 7])
                #expect(records.map { ($0["steps"] as? NSNumber)?.intValue } == [3, 1, 4])
                #expect(records.map { ($0["cfg"] as? NSNumber)?.doubleValue } == [7.5, 0, 1])
            }
            #expect(run.stderrLines.filter { $0.hasPrefix("error:") }.count == 1, "\(run)")
            #expect(run.stderr.contains("p.jsonl:4"), "\(run)")
        }
    }

    /// Prompts given as arguments next to --prompts must not vanish without a word: either both
    /// are rendered or the combination is refused.
    @Test func promptArgumentsAreNotSilentlyDroppedByAPromptFile() throws {
        try withTemporaryDirectory { dir in
            try "from the file\n".write(to: dir.appendingPathComponent("p.txt"), atomically: true, encoding: .utf8)
            let run = try Imagine.generate(["--prompts", "p.txt", "from the arguments"], in: dir)
            let refused = run.status != 0 && run.stderr.contains("--prompts") && fileNames(in: dir) == ["p.txt"]
            let rendered = run.status == 0 && fileNames(in: dir).contains { $0.contains("from-the-arguments") }
            #expect(refused || rendered, "the argument prompt was ignored: \(run)\nfiles: \(fileNames(in: dir))")
        }
    }

    // MARK: - Resume

    @Test func resumeSkipsPromptsWhosePNGExistsAndRendersTheRest() throws {
        try withTemporaryDirectory { dir in
            let done = ["00001-alpha.png", "00003-gamma.png"]
            for name in done { try Data("rendered earlier".utf8).write(to: dir.appendingPathComponent(name)) }

            let run = try Imagine.generate(["--resume", "alpha", "beta", "gamma"], in: dir)
            #expect(run.status == 0, "\(run)")
            #expect(fileNames(in: dir) == ["00001-alpha.png", "00002-beta.png", "00003-gamma.png"], "\(run)")
            for name in done {
                #expect(try Data(contentsOf: dir.appendingPathComponent(name)) == Data("rendered earlier".utf8))
                #expect(run.stderrLines.contains { $0.hasPrefix("skipping") && $0.contains(name) }, "\(run)")
            }
            #expect(!run.stderr.contains("00002-beta"), "\(run)")
            _ = try PNGChunks(contentsOf: dir.appendingPathComponent("00002-beta.png"))
            #expect(try run.jsonRecords().compactMap { $0["prompt"] as? String } == ["beta"])
        }
    }

    // MARK: - Shards

    @Test func shardsOfOneFileAreDisjointAndCoverIt() throws {
        try withTemporaryDirectory { dir in
            // A comment first: positions count prompts, names count lines.
            try "# four prompts\none\ntwo\nthree\nfour\n"
                .write(to: dir.appendingPathComponent("prompts.txt"), atomically: true, encoding: .utf8)
            let first = try Imagine.generate(["--prompts", "prompts.txt", "--shard", "0/2", "--out-dir", "s0"], in: dir)
            let second = try Imagine.generate(["--prompts", "prompts.txt", "--shard", "1/2", "--out-dir", "s1"], in: dir)
            #expect(first.status == 0, "\(first)")
            #expect(second.status == 0, "\(second)")
            let shard0 = fileNames(in: dir.appendingPathComponent("s0"))
            let shard1 = fileNames(in: dir.appendingPathComponent("s1"))
            #expect(shard0 == ["00002-one.png", "00004-three.png"])
            #expect(shard1 == ["00003-two.png", "00005-four.png"])
            #expect(Set(shard0).isDisjoint(with: shard1))
            #expect(Set(shard0).union(shard1) == ["00002-one.png", "00003-two.png", "00004-three.png", "00005-four.png"])
        }
    }

    @Test(arguments: ["2/2", "x", "1/0", "-1/2", "1"])
    func aShardThatIsNotIOfNIsAUsageError(_ shard: String) throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.generate(["--shard", shard, "apple"], in: dir)
            #expect(run.status != 0, "\(run)")
            #expect(run.stderr.contains("--shard"), "\(run)")
            #expect(run.stdout.isEmpty && fileNames(in: dir).isEmpty, "\(run)")
        }
    }

    // MARK: - Validation and errors

    /// Bad options are refused before the model loads, naming what is wrong.
    @Test(arguments: [
        (["--width", "65", "apple"], ["--width", "65"]),
        (["--height", "0", "apple"], ["--height"]),
        (["--sampler", "foo", "apple"], ["foo"] + samplers),
        (["--decoder", "foo", "apple"], ["foo", "vae", "tiny", "latent"]),
        (["--steps", "0", "apple"], ["--steps"]),
        (["--threads", "0", "apple"], ["--threads"]),
        ([], ["--prompts"]),
    ])
    func badOptionsAreUsageErrorsThatSayWhatIsWrong(_ arguments: [String], _ mentions: [String]) throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.generate(arguments, in: dir)
            #expect(run.status != 0, "\(run)")
            for text in mentions { #expect(run.stderr.contains(text), "\(text) not mentioned: \(run)") }
            #expect(run.stdout.isEmpty && fileNames(in: dir).isEmpty, "\(run)")
        }
    }

    @Test func aMissingModelIsOneErrorLineNamingThePath() throws {
        try withTemporaryDirectory { dir in
            let missing = dir.appendingPathComponent("no-such-model").path
            let run = try Imagine.run(["generate", "--model", missing, "apple"], in: dir)
            #expect(run.status != 0, "\(run)")
            #expect(run.stderrLines.count == 1, "one line, no stack trace: \(run)")
            #expect(run.stderrLines.first?.hasPrefix("error: ") == true, "\(run)")
            #expect(run.stderr.contains(missing), "\(run)")
            #expect(run.stdout.isEmpty, "\(run)")
        }
    }

    @Test func aMissingPromptFileIsAnErrorNamingIt() throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.generate(["--prompts", "missing-prompts.txt"], in: dir)
            #expect(run.status != 0, "\(run)")
            #expect(run.stderrLines.count == 1, "\(run)")
            #expect(run.stderrLines.first?.hasPrefix("error: ") == true, "\(run)")
            #expect(run.stderr.contains("missing-prompts.txt"), "\(run)")
            #expect(run.stdout.isEmpty && fileNames(in: dir).isEmpty, "\(run)")
        }
    }

    // MARK: - Decoders

    /// The latent preview has one pixel per latent (8×8 for 64×64), but the PNG has the requested
    /// size (Pipeline.generate upscales it), so `--width`/`--height` mean the same for every decoder.
    @Test func theLatentDecoderWritesAnImageOfTheRequestedSize() throws {
        try withTemporaryDirectory { dir in
            try """
                {"prompt": "square"}
                {"prompt": "wide", "width": 48, "height": 32}
                """.write(to: dir.appendingPathComponent("p.jsonl"), atomically: true, encoding: .utf8)
            let run = try Imagine.generate(["--decoder", "latent", "--prompts", "p.jsonl"], in: dir)
            #expect(run.status == 0, "\(run)")
            let square = try PNGChunks(contentsOf: dir.appendingPathComponent("00001-square.png"))
            #expect(square.width == 64 && square.height == 64)
            #expect(square.text["parameters"]?.contains("Size: 64x64, Model: tiny-sd, Decoder: latent") == true)
            let wide = try PNGChunks(contentsOf: dir.appendingPathComponent("00002-wide.png"))
            #expect(wide.width == 48 && wide.height == 32)
            #expect(try run.jsonRecords().map { $0["decoder"] as? String } == ["latent", "latent"])
        }
    }

    @Test func theTinyDecoderWithoutATAESDFolderIsRefusedWithAReasonBeforeAnyRender() throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.generate(["--decoder", "tiny", "apple"], in: dir)
            #expect(run.status == 1, "\(run)")
            #expect(run.stderrLines.contains { $0.hasPrefix("error:") && $0.contains("tiny decoder") }, "\(run)")
            #expect(fileNames(in: dir).isEmpty)
        }
    }
}
