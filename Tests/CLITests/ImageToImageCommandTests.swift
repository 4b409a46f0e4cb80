import Foundation
import ImageIO
import Testing

/// `imagine generate --init-image` end to end on the tiny model: files read as diffusers'
/// `load_image` reads them, resized as its image processor resizes them, rendered as its
/// StableDiffusionImg2ImgPipeline renders them (Tests/Fixtures/make_img2img_fixtures.py), and
/// every bad picture an error that names it while the other lines render.
@Suite struct ImageToImageCommandTests {
    static let fixtures = Imagine.packageRoot.appendingPathComponent("Tests/Fixtures/img2img")

    struct Case: Decodable {
        let name: String, image: String, sampler: String, steps: Int, strength: Double, cfg: Double
        let negative: String, seed: UInt64
        let width: Int?, height: Int?, spacing: String?
    }
    struct Cases: Decodable { let prompt: String; let cases: [Case] }

    static func copyFixture(_ name: String, to dir: URL, as copy: String? = nil) throws {
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name),
                                         to: dir.appendingPathComponent(copy ?? name))
    }

    /// Every fixture case the command line can express (the model's own scheduler config: not the
    /// trailing-timestep ones, which ModelsTests cover), as one prompt file, against the PNGs a
    /// diffusers script saves: a PNG init image at its own size, a JPEG stretched to 64×64, an
    /// RGBA picture whose 70×52 becomes 64×48, a greyscale one; Euler, Euler a, DDIM, LCM, DPM++.
    @Test func aPromptFileOfInitImagesMatchesDiffusers() throws {
        let cases = try JSONDecoder().decode(
            Cases.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("expected/cases.json")))
        let lines = cases.cases.filter { $0.spacing == nil }
        try withTemporaryDirectory { dir in
            var text = ""
            for c in lines {
                if !FileManager.default.fileExists(atPath: dir.appendingPathComponent(c.image).path) {
                    try Self.copyFixture(c.image, to: dir)
                }
                var object: [String: Any] = [
                    "prompt": cases.prompt, "negative": c.negative, "seed": c.seed, "steps": c.steps, "cfg": c.cfg,
                    "sampler": c.sampler, "init_image": c.image, "strength": c.strength, "out": c.name + ".png",
                ]
                if let width = c.width, let height = c.height {
                    object["width"] = width
                    object["height"] = height
                }
                text += String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self) + "\n"
            }
            try text.write(to: dir.appendingPathComponent("prompts.jsonl"), atomically: true, encoding: .utf8)
            let run = try Imagine.generate(["--prompts", "prompts.jsonl", "--out-dir", "out"], in: dir)
            #expect(run.status == 0, "\(run)")
            let records = try run.jsonRecords()
            #expect(records.count == lines.count, "\(run)")
            for (c, record) in zip(lines, records) {
                let expected = try PNGReader.read(Self.fixtures.appendingPathComponent("expected/\(c.name).png"))
                let ours = try PNGReader.read(dir.appendingPathComponent("out/\(c.name).png"))
                #expect(ours.width == expected.width && ours.height == expected.height, "\(c.name)")
                if ours.width == expected.width && ours.height == expected.height {
                    let decibels = psnr(ours, expected)
                    #expect(decibels >= 40, "\(c.name): PSNR \(decibels) dB against diffusers")
                }
                #expect(record["init_image"] as? String == c.image)
                #expect((record["strength"] as? NSNumber)?.doubleValue == c.strength)
                let parameters = try PNGChunks(contentsOf: dir.appendingPathComponent("out/\(c.name).png")).text["parameters"]
                #expect(parameters?.contains("Denoising strength: \(c.strength), ") == true, "\(parameters ?? "none")")
            }
        }
    }

    @Test func theFlagsSetTheImageStrengthAndSize() throws {
        try withTemporaryDirectory { dir in
            try Self.copyFixture("alpha-70x52.png", to: dir)
            let run = try Imagine.generate(["--init-image", "alpha-70x52.png", "--strength", "1", "--out-dir", "out", "a fox"],
                                           in: dir)
            #expect(run.status == 0, "\(run)")
            let record = try #require(try run.jsonRecords().first)
            #expect((record["width"] as? NSNumber)?.intValue == 64 && (record["height"] as? NSNumber)?.intValue == 48,
                    "70×52 renders at 64×48: \(record)")
            #expect((record["strength"] as? NSNumber)?.doubleValue == 1)
            let parameters = try PNGChunks(contentsOf: dir.appendingPathComponent("out/00001-a-fox.png")).text["parameters"] ?? ""
            #expect(parameters.contains("Size: 64x48, Model: tiny-sd, Denoising strength: 1.0, Decoder: vae"), "\(parameters)")

            let stretched = try Imagine.generate(["--init-image", "alpha-70x52.png", "--width", "32", "--out-dir", "out", "a fox"],
                                                 in: dir)
            let size = try #require(try stretched.jsonRecords().first)
            #expect((size["width"] as? NSNumber)?.intValue == 32 && (size["height"] as? NSNumber)?.intValue == 48,
                    "--width alone sets the width; the height stays the picture's: \(size)")
        }
    }

    @Test func tooFewStepsForTheStrengthIsOneClearError() throws {
        try withTemporaryDirectory { dir in
            try Self.copyFixture("photo.png", to: dir)
            let run = try Imagine.run(["generate", "--model", Imagine.tinyModel, "--steps", "2", "--init-image", "photo.png",
                                       "--strength", "0.3", "--out-dir", "out", "x"], in: dir)
            #expect(run.status == 1)
            #expect(run.stderrLines == ["error: --strength: strength 0.3 of 2 steps leaves int(2 × 0.3) = 0 steps to run "
                                        + "on photo.png; image to image needs steps × strength ≥ 1 (more steps or more strength)"],
                    "\(run)")
            #expect(fileNames(in: dir) == ["photo.png"])
        }
    }

    @Test func strengthWithoutAnInitImageIsAUsageError() throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.generate(["--strength", "0.5", "x"], in: dir)
            #expect(run.status != 0 && run.stderr.contains("--strength needs --init-image"), "\(run)")
        }
    }

    /// A PNG header that claims 10000 × 10000 pixels, then a few bytes of image data (libpng reads
    /// the header up to the first IDAT).
    static func hugePNG() -> [UInt8] {
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return withUnsafeBytes(of: UInt32(data.count).bigEndian, Array.init) + body
                + withUnsafeBytes(of: crc32(body).bigEndian, Array.init)
        }
        let side = withUnsafeBytes(of: UInt32(10_000).bigEndian, Array.init)
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", side + side + [8, 2, 0, 0, 0])
            + chunk("IDAT", [0x78, 0x9C, 0x03, 0x00]) + chunk("IEND", [])
    }

    @Test func badPicturesFailTheirOwnLinesAndTheOthersRender() throws {
        try withTemporaryDirectory { dir in
            try Self.copyFixture("photo.png", to: dir)
            try Self.copyFixture("grey-40x24.jpg", to: dir)
            try Self.copyFixture("cmyk.jpg", to: dir)
            let jpeg = try Data(contentsOf: Self.fixtures.appendingPathComponent("photo-80x72.jpg"))
            try jpeg.prefix(jpeg.count / 2).write(to: dir.appendingPathComponent("cut.jpg"))
            try Data("not a picture\n".utf8).write(to: dir.appendingPathComponent("notes.png"))
            try Data(Self.hugePNG()).write(to: dir.appendingPathComponent("huge.png"))
            let lines = [
                #"{"prompt": "good", "init_image": "photo.png", "strength": 0.5}"#,       // 1
                #"{"prompt": "text", "init_image": "notes.png"}"#,                         // 2
                #"{"prompt": "cut", "init_image": "cut.jpg"}"#,                            // 3
                #"{"prompt": "huge", "init_image": "huge.png"}"#,                          // 4
                #"{"prompt": "cmyk", "init_image": "cmyk.jpg"}"#,                          // 5
                #"{"prompt": "gone", "init_image": "missing.png"}"#,                       // 6
                #"{"prompt": "away", "init_image": "../photo.png"}"#,                      // 7
                #"{"prompt": "abs", "init_image": "/etc/hostname"}"#,                      // 8
                #"{"prompt": "weak", "init_image": "photo.png", "strength": 0.1}"#,       // 9
                #"{"prompt": "bad strength", "init_image": "photo.png", "strength": "a lot"}"#,  // 10
                #"{"prompt": "grey", "init_image": "grey-40x24.jpg", "strength": 1}"#,    // 11
                "plain text to image",                                                     // 12
                #"{"prompt": "no picture", "strength": 0.5}"#,                             // 13
            ]
            try lines.joined(separator: "\n").write(to: dir.appendingPathComponent("p.jsonl"), atomically: true, encoding: .utf8)
            let run = try Imagine.generate(["--prompts", "p.jsonl", "--out-dir", "out"], in: dir)
            #expect(run.status == 1, "\(run)")
            #expect(fileNames(in: dir.appendingPathComponent("out"))
                    == ["00001-good.png", "00011-grey.png", "00012-plain-text-to-image.png"], "\(run)")
            let errors = run.stderrLines.filter { $0.hasPrefix("error:") }
            func reported(_ line: Int, _ reasons: String...) -> Bool {
                errors.contains { error in error.contains("p.jsonl:\(line)") && reasons.allSatisfy(error.contains) }
            }
            #expect(reported(2, "notes.png: not a PNG or JPEG picture"), "\(run)")
            #expect(reported(3, "cut.jpg: cannot decode the JPEG: truncated"), "\(run)")
            #expect(reported(4, "huge.png: 10000×10000 pixels is more than the 67108864 this reader accepts"), "\(run)")
            #expect(reported(5, "cmyk.jpg: a CMYK JPEG"), "\(run)")
            #expect(reported(6, "missing.png: cannot read the file"), "\(run)")
            #expect(reported(7, "\"init_image\" \"../photo.png\" refused: '..' would leave the prompt file's folder"), "\(run)")
            #expect(reported(8, "refused: it is an absolute path"), "\(run)")
            #expect(reported(9, "int(4 × 0.1) = 0 steps"), "\(run)")
            #expect(reported(10, "\"strength\" must be a number"), "\(run)")
            #expect(reported(13, "\"strength\" needs an init image"), "\(run)")
            #expect(errors.count == 10, "\(run)")
            let grey = try PNGChunks(contentsOf: dir.appendingPathComponent("out/00011-grey.png"))
            #expect(grey.width == 40 && grey.height == 24)
            let plain = try PNGChunks(contentsOf: dir.appendingPathComponent("out/00012-plain-text-to-image.png"))
            #expect(plain.text["parameters"]?.contains("Denoising strength") == false)
        }
    }
}
