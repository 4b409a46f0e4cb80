import Foundation
import Testing

/// `--lora`, `--lora-dir` and `<lora:…>` tags through `imagine generate` and `imagine inspect`, with
/// the LoRA files of Tests/Fixtures/make_lora_fixtures.py on the tiny model.
@Suite struct LoRACommandTests {
    static let folder = Imagine.packageRoot.appendingPathComponent("Tests/Fixtures/lora").path

    @Test func aFlagAndATagAddUpAndTheMetadataNamesBoth() throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.generate(["--out-dir", "out", "--lora", "\(Self.folder)/kohya.safetensors:0.7",
                                            "--lora-dir", Self.folder, "a red apple <lora:peft:-0.5>"], in: dir)
            #expect(run.status == 0, "\(run)")
            // The tag is no part of the file name.
            let file = dir.appendingPathComponent("out/00001-a-red-apple.png")
            let parameters = try #require(try PNGChunks(contentsOf: file).text["parameters"])
            let lines = parameters.split(separator: "\n").map(String.init)
            #expect(lines.first == "a red apple <lora:peft:-0.5>", "the prompt as typed: \(parameters)")
            #expect(parameters.contains(#"Lora hashes: "kohya: 362051d3552e, peft: c9d280a013ab""#), "\(parameters)")
            #expect(parameters.contains(#"LoRAs: "kohya: 0.7, peft: -0.5""#), "\(parameters)")
            let record = try #require(try run.jsonRecords().first)
            let loras = try #require(record["loras"] as? [[String: Any]])
            #expect(loras.map { ($0["path"] as? String).map { URL(fileURLWithPath: $0).lastPathComponent } }
                    == ["kohya.safetensors", "peft.safetensors"])
            #expect(loras.map { ($0["strength"] as? NSNumber)?.floatValue } == [0.7, -0.5])

            // The same LoRAs as two flags give the same pixels; without them the picture differs.
            let flags = try Imagine.generate(["--out-dir", "flags", "--lora-dir", Self.folder, "--lora", "kohya:0.7",
                                              "--lora", "peft:-0.5", "a red apple"], in: dir)
            let plain = try Imagine.generate(["--out-dir", "plain", "a red apple"], in: dir)
            #expect(flags.status == 0 && plain.status == 0, "\(flags) \(plain)")
            let pixels = try PNGChunks(contentsOf: file).imageData
            #expect(try PNGChunks(contentsOf: dir.appendingPathComponent("flags/00001-a-red-apple.png")).imageData == pixels)
            #expect(try PNGChunks(contentsOf: dir.appendingPathComponent("plain/00001-a-red-apple.png")).imageData != pixels)
        }
    }

    @Test func aBadTagFailsItsPromptFileLineAndTheOthersRender() throws {
        try withTemporaryDirectory { dir in
            let prompts = dir.appendingPathComponent("prompts.txt")
            try """
                a pear <lora:kohya:0.5>
                a plum <lora:missing>
                {"prompt": "a fig <lora:peft:lots>"}
                a lime
                """.write(to: prompts, atomically: true, encoding: .utf8)
            let run = try Imagine.generate(["--out-dir", "out", "--lora-dir", Self.folder, "--prompts", prompts.path], in: dir)
            #expect(run.status == 1, "\(run)")
            #expect(run.stderr.contains("prompts.txt:2") && run.stderr.contains("no missing.safetensors"), "\(run)")
            #expect(run.stderr.contains("prompts.txt:3") && run.stderr.contains("must be a number"), "\(run)")
            #expect(run.stderr.contains("2 of 4 prompts failed"), "\(run)")
            #expect(fileNames(in: dir.appendingPathComponent("out")) == ["00001-a-pear.png", "00004-a-lime.png"])
        }
    }

    @Test func badLoRAFlagsAreRefusedBeforeTheModelLoads() throws {
        try withTemporaryDirectory { dir in
            let missing = try Imagine.generate(["--lora", "nothere.safetensors", "x"], in: dir)
            #expect(missing.status != 0 && missing.stderr.contains("--lora nothere.safetensors: no such file"), "\(missing)")
            let notLoRA = try Imagine.generate(
                ["--lora", Imagine.tinyModel + "/unet/diffusion_pytorch_model.safetensors", "x"], in: dir)
            #expect(notLoRA.status == 1 && notLoRA.stderr.contains("no LoRA weights found"), "\(notLoRA)")
            let noFolder = try Imagine.generate(["--out-dir", "out", "an apple <lora:kohya>"], in: dir)
            #expect(noFolder.status == 1 && noFolder.stderr.contains("--lora-dir"), "\(noFolder)")
        }
    }

    @Test func inspectCountsTheLayersEachLoRAMatches() throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.run(["inspect", Imagine.tinyModel, "--lora", "\(Self.folder)/kohya.safetensors",
                                       "--lora", "\(Self.folder)/diffusers-old.safetensors"], in: dir)
            #expect(run.status == 0, "\(run)")
            #expect(run.stdout.contains("layout: kohya, rank 2–4, A1111 hash 362051d3552e"), "\(run)")
            #expect(run.stdout.contains("U-Net: 77 modules, 77 matched, 0 unmatched"), "\(run)")
            #expect(run.stdout.contains("text encoder: 12 modules, 12 matched, 0 unmatched"), "\(run)")
            #expect(run.stdout.contains("layout: diffusers, rank 2"), "\(run)")
        }
    }

    /// An SDXL LoRA adapts three models; kohya names the U-Net's layers the LDM way.
    @Test func inspectCountsAnSDXLLoRAsLayersInAllThreeModels() throws {
        try withTemporaryDirectory { dir in
            let fixtures = Imagine.packageRoot.appendingPathComponent("Tests/Fixtures")
            let run = try Imagine.run(["inspect", fixtures.appendingPathComponent("pipeline-sdxl/tiny-sdxl").path, "--lora",
                                       fixtures.appendingPathComponent("lora-sdxl/kohya-ldm.safetensors").path], in: dir)
            #expect(run.status == 0, "\(run)")
            #expect(run.stdout.contains("U-Net: 79 modules, 79 matched, 0 unmatched"), "\(run)")
            #expect(run.stdout.contains("\n    text encoder: 18 modules, 18 matched, 0 unmatched"), "\(run)")
            #expect(run.stdout.contains("second text encoder: 19 modules, 19 matched, 0 unmatched"), "\(run)")
        }
    }

    @Test func benchLoRATimesMergingAndTakingOut() throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.run(["bench", "lora", Imagine.tinyModel, "\(Self.folder)/kohya.safetensors", "--runs", "1",
                                       "--no-reference", "--threads", "1", "--precision", "fp32"], in: dir)
            #expect(run.status == 0, "\(run)")
            #expect(run.stdout.contains("tiny-sd + kohya.safetensors: kohya, 89 modules"), "\(run)")
            #expect(run.stdout.contains("merge") && run.stdout.contains("unmerge"), "\(run)")
        }
    }
}
