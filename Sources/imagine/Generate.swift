import ArgumentParser
import Dispatch
import Foundation
import ImageIO
import Kernels
import Models
import TerminalGraphics

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render prompts to PNG files.",
        discussion: """
            Prompts come from the arguments or from --prompts FILE: plain text (one prompt per \
            line) or JSONL (one object per line: "prompt" and optionally "negative", "seed", \
            "steps", "cfg", "width", "height", "sampler", "decoder", "upscale", "out"). Blank lines and \
            lines starting with # are skipped. A bad line or a failed prompt is reported with \
            its line number and the rest still render; the exit status is 1 if any failed.

            Files are named NNNNN-words-of-the-prompt.png after the prompt's line (or argument) \
            number and are never overwritten: an existing name gets a -2, -3, … suffix, unless \
            --resume is given, which skips prompts whose file exists. Each PNG carries the \
            settings in an A1111-style "parameters" text chunk and is written atomically.

            Standard output gets one JSON line per image (path, prompt, seed, settings, \
            seconds) for scripts; a progress bar goes to standard error when it is a terminal.

            IMAGE TO IMAGE: --init-image FILE (a PNG or JPEG; a JSONL line's "init_image", \
            relative to the prompt file's folder, which it cannot leave) starts from that picture \
            as diffusers' StableDiffusionImg2ImgPipeline does: the VAE encodes it, it is noised \
            to the step --strength selects (JSONL "strength"; 0…1, default 0.8) and only the last \
            int(steps × strength) steps run, so steps × strength must be at least 1. It renders \
            at \(InitImageFile.sizeRule). Pictures are read as diffusers' load_image reads them: \
            greyscale becomes RGB, alpha is dropped (not blended), a JPEG's EXIF orientation \
            turns it upright, CMYK JPEGs are refused, and so is anything over \(InitImageFile.maximumPixels) \
            pixels (64 megapixels), before it is decoded. A bad picture on one line is reported \
            and the other lines still render.

            --shard i/n renders only prompts at positions p (0-based, in file order) with \
            p mod n = i, so n machines given the same file and i = 0…n−1 split the work.

            PROMPT SYNTAX (AUTOMATIC1111's, in prompts and negative prompts)
              (word) ((word))   weight ×1.1, ×1.21
              (word:1.4)        weight ×1.4
              [word]            weight ÷1.1
              \\( \\) \\[ \\] \\\\    the character itself
              A BREAK B         B starts a new chunk
            A prompt longer than the text encoder's window (SD: 75 tokens) is read whole, in \
            chunks of that many (a phrase after a comma moves on whole), at most 64 chunks.

            EXAMPLES
              imagine generate --model sd-turbo --steps 1 --cfg 0 "a red apple"
              imagine generate --model sd15 --prompts p.jsonl --out-dir out --seed 42
              imagine generate --model sd15 --prompts p.txt --shard 3/10 --resume
              imagine generate --model sd-turbo --init-image cat.jpg --strength 0.5 --steps 2 "a tiger"
            """)

    @Argument(help: "Prompts to render (or use --prompts).")
    var prompts: [String] = []

    @Option(name: .customLong("prompts"), help: ArgumentHelp("A prompt file (plain lines or JSONL).", valueName: "file"))
    var promptFile: String?

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: ArgumentHelp("Where the PNGs go (created if missing).", valueName: "dir"))
    var outDir = "."

    @Option(parsing: .unconditional, help: "Sampler steps (default: the model's imagine.json, else 20).")
    var steps: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Classifier-free guidance scale; 1 or less turns guidance off (SD-Turbo: 0) (default: the model's "
            + "imagine.json, else 7.5).", valueName: "scale"))
    var cfg: Float?

    @Option(help: ArgumentHelp("The sampler (default: the model's imagine.json, else euler).", valueName: "name"))
    var sampler: SamplerKind?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Seed for the starting noise, drawn as torch.Generator(\"cpu\").manual_seed(seed) + randn draws it, "
            + "bit for bit, so a seed starts where diffusers on CPU starts (default: random, recorded in the PNG "
            + "and the JSON line)."), transform: parseSeed)
    var seed: UInt64?

    @Option(parsing: .unconditional, help: "Image width in pixels, a multiple of 8 (default: the model's native size).")
    var width: Int?

    @Option(parsing: .unconditional, help: "Image height in pixels, a multiple of 8 (default: the model's native size).")
    var height: Int?

    @Option(parsing: .unconditional, help: "Negative prompt, for every prompt without its own.")
    var negative = ""

    @Option(help: ArgumentHelp(
        "Start from this picture (PNG or JPEG) instead of pure noise: image to image (see below).",
        valueName: "file"))
    var initImage: String?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "How much of the init image is redrawn, 0…1: only the last int(steps × strength) steps run "
            + "(default: 0.8, diffusers' default).", valueName: "s"))
    var strength: Double?

    @Option(help: ArgumentHelp(
        "The decoder: vae (full quality), tiny (TAESD, fast), latent (a colour sketch) (default: the model's "
            + "imagine.json, else vae).", valueName: "name"))
    var decoder: DecoderKind?

    @Flag(help: "Skip prompts whose PNG already exists.")
    var resume = false

    @Flag(help: ArgumentHelp("Check every prompt against the model and this machine and print the JSON line each would get "
                                 + "(without seconds), rendering and writing nothing."))
    var dryRun = false

    @Option(help: ArgumentHelp("Render only shard i of n (0 ≤ i < n).", valueName: "i/n"))
    var shard: String?

    @OptionGroup var loraOptions: LoRAOptions

    @OptionGroup var upscaleOptions: UpscaleOptions

    @Flag(help: ArgumentHelp("Show each picture in the terminal as it is written (on standard error's terminal, "
                                 + "else standard output's; see `imagine show --help`)."))
    var show = false

    @OptionGroup var graphicsOptions: GraphicsOptions

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if show && isatty(STDERR_FILENO) == 0 && isatty(STDOUT_FILENO) == 0 {
            throw ValidationError("--show needs a terminal on standard error or standard output")
        }
        if prompts.isEmpty == (promptFile == nil) {
            throw ValidationError("give prompts as arguments or --prompts FILE (not both)")
        }
        if strength != nil && initImage == nil && promptFile == nil {
            throw ValidationError("--strength needs --init-image (or a prompt file whose lines set \"init_image\")")
        }
        if let shard, Shard(shard) == nil { throw ValidationError("--shard must be i/n with 0 ≤ i < n, got '\(shard)'") }
    }

    func run() throws {
        threadOptions.apply()
        // Read the prompt file before the (possibly slow) model load: a typo fails at once.
        var entries: [PromptFileEntry]
        if let promptFile {
            entries = try reportingErrors { try readPromptFile(promptFile) }
        } else {
            entries = prompts.enumerated().map { .success(PromptJob(number: $0.offset + 1, prompt: $0.element)) }
        }
        if let shard, let selected = Shard(shard) {
            entries = entries.enumerated().filter { selected.contains(position: $0.offset) }.map(\.element)
        }

        // No local copy of the model: the pipeline releases components from its own once this
        // batch no longer needs them, and a second reference would keep their weights alive.
        let pipeline = Pipeline(model: try reportingErrors { try modelOptions.load() })
        // The model's defaults, then this command's options, then (per job) the prompt line's.
        var defaults = GenerationRequest(prompt: "", defaults: pipeline.model.defaults)
        defaults.negativePrompt = negative
        defaults.seed = seed ?? UInt64.random(in: 0..<(1 << 32))
        defaults.steps = steps ?? defaults.steps
        defaults.guidanceScale = cfg ?? defaults.guidanceScale
        defaults.width = width ?? defaults.width
        defaults.height = height ?? defaults.height
        defaults.sampler = sampler ?? defaults.sampler
        defaults.decoder = decoder ?? defaults.decoder
        try loraOptions.apply(to: &defaults)
        defaults.strength = strength ?? GenerationRequest.defaultStrength
        let images = InitImageCache()
        if let initImage {
            let image = try reportingErrors { try images.read(initImage) }
            defaults.start(from: image, strength: defaults.strength, width: width, height: height,
                           scaleFactor: pipeline.model.vaeScaleFactor)
        }

        // The flags alone must make a request the model and machine can serve: a bad one fails
        // once here, not once per prompt. Each prompt-file line is checked the same way when it renders.
        do {
            try pipeline.validate(defaults)
            try PNGOutput.checkUpscale(defaults, upscale: upscaleOptions.upscale)
        } catch let error as GenerationError {
            printError("error: \(error.field.map { "--\($0): " } ?? "")\(error)")
            throw ExitCode(1)
        } catch let error as LoRAError {
            printError("error: --lora: \(error)")
            throw ExitCode(1)
        }

        var jobs: [(job: PromptJob, request: GenerationRequest)] = []
        var failures = 0
        for entry in entries {
            switch entry {
            case .success(let job): jobs.append((job, job.applying(defaults)))
            case .failure(let error):
                printError("error: \(error)")
                failures += 1
            }
        }
        let total = entries.count

        let outputDirectory = URL(fileURLWithPath: outDir, isDirectory: true)
        if !dryRun { try reportingErrors { try OutputPath.createFolder(outputDirectory) } }
        if !dryRun {
            // Every prompt is known now: encode them all and free the text encoder before the
            // first U-Net step (prompts --resume will skip need no encoding).
            let toRender = jobs.filter { job, request in
                guard resume, let target = try? targetPath(job, request, outputDirectory) else { return true }
                return !FileManager.default.fileExists(atPath: target.path)
            }
            try pipeline.encodeAllThenReleaseTextEncoder(for: toRender.map(\.request))
        }
        let progress = ProgressBar(enabled: isatty(STDERR_FILENO) == 1)
        // On standard error's terminal, like the progress bar, else on standard output's.
        let viewer = show && !dryRun
            ? PictureViewer(graphicsOptions: graphicsOptions,
                            descriptor: isatty(STDERR_FILENO) == 1 ? STDERR_FILENO : STDOUT_FILENO) : nil
        var swept: Set<String> = []
        for (position, (job, request)) in jobs.enumerated() {
            let location = promptFile.map { "\($0):\(job.number)" } ?? "argument \(job.number)"
            let target: URL
            do {
                target = try targetPath(job, request, outputDirectory)
            } catch {
                printError("error: prompt \(job.number) (\(location)): \(error)")
                failures += 1
                continue
            }
            // A line's own picture, read when its turn comes: a bad one fails that line only.
            var request = request
            if let name = job.initImage {
                do {
                    // Only prompt-file lines name their own picture.
                    let folder = URL(fileURLWithPath: promptFile!).deletingLastPathComponent()
                    let image = try images.read(try OutputPath.join(name, under: folder).path)
                    request.start(from: image, strength: job.strength ?? defaults.strength,
                                  width: job.width ?? width, height: job.height ?? height,
                                  scaleFactor: pipeline.model.vaeScaleFactor)
                } catch {
                    printError("error: prompt \(job.number) (\(location)): \(error)")
                    failures += 1
                    continue
                }
            }
            if job.strength != nil && request.initImage == nil {
                printError("error: prompt \(job.number) (\(location)): \"strength\" needs an init image "
                           + "(the line's \"init_image\" or --init-image)")
                failures += 1
                continue
            }
            if dryRun {
                do {
                    try pipeline.validate(request)
                    try PNGOutput.checkUpscale(request, upscale: job.upscale ?? upscaleOptions.upscale)
                    try StandardStream.output(try record(line: job.number, request: request, precision: pipeline.model.precision,
                                                         loras: try pipeline.loras(for: request),
                                                         upscale: job.upscale ?? upscaleOptions.upscale, path: target.path,
                                                         seconds: nil) + "\n")
                } catch {
                    printError("error: prompt \(job.number) (\(location)): \(error)")
                    failures += 1
                }
                continue
            }
            // A write killed mid-way leaves its hidden temporary file; the next run in that folder removes it.
            let folder = target.deletingLastPathComponent()
            if swept.insert(folder.path).inserted { PNGWriter.removeAbandonedTemporaryFiles(in: folder) }
            if resume && FileManager.default.fileExists(atPath: target.path) {
                progress.clear()
                printError("skipping \(job.number): \(target.path) exists")
                continue
            }
            let label = "[\(position + 1)/\(jobs.count)] \(job.number)"
            let path: String
            let upscale = job.upscale ?? upscaleOptions.upscale
            let start = DispatchTime.now()
            do {
                try pipeline.validate(request)
                try PNGOutput.checkUpscale(request, upscale: upscale)
                // The last render needs the U-Net no more once it has sampled.
                let result = try pipeline.generate(request, releasingUNetBeforeDecode: position == jobs.count - 1,
                                                   onStep: { step in
                    progress.show(label: label, step: step.step, of: step.steps)
                })
                path = try PNGOutput.write(result.image, request: request, model: pipeline.model,
                                           loras: try pipeline.usedLoRAs(for: request), upscale: upscale, to: target)
            } catch {
                progress.clear()
                printError("error: prompt \(job.number) (\(location)): \(error)")
                failures += 1
                continue
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            progress.clear()
            do {
                // Read back, so what shows is what was written (upscaled or not); room is left
                // for the record line and the progress bar.
                try viewer?.show(path, rowsBelow: 3)
            } catch {
                printError("warning: cannot show \(path): \(error)")
            }
            do {
                try StandardStream.output(try record(line: job.number, request: request, precision: pipeline.model.precision,
                                                 loras: (try? pipeline.loras(for: request)) ?? [],
                                                 upscale: upscale, path: path, seconds: seconds) + "\n")
            } catch {
                // Whoever reads the records is gone or has no room: the rest would be lost the same way.
                let left = jobs.count - position - 1
                printError("error: prompt \(job.number) (\(location)): \(path) was written but its record was not: \(error); "
                           + "stopping with \(left) prompt\(left == 1 ? "" : "s") not rendered")
                failures += 1 + left
                break
            }
        }
        if failures > 0 {
            printError("\(failures) of \(total) prompts failed")
            throw ExitCode(1)
        }
    }

    /// Where `job`'s PNG goes: its own `out`, else a name from its number and prompt.
    private func targetPath(_ job: PromptJob, _ request: GenerationRequest, _ outputDirectory: URL) throws -> URL {
        try job.out.map { try OutputPath.join($0, under: outputDirectory) }
            ?? outputDirectory.appendingPathComponent(String(format: "%05d-%@.png", job.number, slug(request.prompt)))
    }

    private func record(line: Int, request r: GenerationRequest, precision: Precision, loras: [LoRAReference],
                        upscale: Int, path: String, seconds: Double?) throws -> String {
        var object: [String: Any] = [
            "path": path, "line": line, "prompt": r.prompt, "negative": r.negativePrompt,
            "seed": r.seed, "steps": r.steps, "cfg": r.guidanceScale, "width": r.width, "height": r.height,
            "sampler": r.sampler.rawValue, "decoder": r.decoder.rawValue, "precision": precision.rawValue,
            "upscale": upscale,
        ]
        if let initImage = r.initImage {
            object["init_image"] = initImage.name
            object["strength"] = r.strength
        }
        if let seconds { object["seconds"] = (seconds * 1000).rounded() / 1000 }
        if !loras.isEmpty { object["loras"] = loras.map { ["path": $0.url.path, "strength": $0.strength] } }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}

/// The last init image read, kept for the lines that follow with the same one: read once, and
/// the pipeline's encoding of it is reused.
final class InitImageCache {
    private var last: (path: String, image: InitImage)?

    func read(_ path: String) throws -> InitImage {
        if let last, last.path == path { return last.image }
        let image = try InitImageFile.read(path)
        last = (path, image)
        return image
    }
}

/// A one-line progress bar on standard error, redrawn in place.
final class ProgressBar {
    let enabled: Bool
    private var drawn = false

    init(enabled: Bool) { self.enabled = enabled }

    func show(label: String, step: Int, of steps: Int) {
        guard enabled else { return }
        let width = 30
        let filled = steps == 0 ? width : width * step / steps
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        StandardStream.error("\r\u{1B}[2K\(label) \(bar) \(step)/\(steps)")
        drawn = true
    }

    func clear() {
        guard enabled && drawn else { return }
        StandardStream.error("\r\u{1B}[2K")
        drawn = false
    }
}

func printError(_ line: String) {
    StandardStream.error(line + "\n")
}
