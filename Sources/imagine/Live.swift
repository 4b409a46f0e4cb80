import ArgumentParser
import Dispatch
import Foundation
import ImageIO
import Kernels
import Live
import Models

/// `imagine live`: type a prompt, watch the picture change with every key.
struct LiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Type a prompt and watch the picture change as you type.",
        discussion: """
            Every key that changes the prompt renders a quick preview (--preview-steps at \
            --preview-size, with --preview-decoder: by default the tiny decoder when the \
            model has one, else the latent colour sketch). A newer key cancels the preview in flight, unless previews take \
            longer than the gap between your keys: then it finishes and only the newest prompt \
            waits, so the picture keeps changing as you type. When no key has come for \
            --refine-delay-ms the prompt is rendered at full quality (--steps, --decoder) with \
            its progress on the status line. The seed stays fixed so the picture morphs as you \
            type. The prompt takes AUTOMATIC1111's syntax and any length, as in imagine generate \
            (see its --help); only the chunks of a long prompt that changed are encoded again.

            KEYS
              Enter          save at full quality as a PNG in --out-dir (imagine
                             generate's metadata)
              Esc, Ctrl-C    quit
              Ctrl-R         new seed
              ←/→ Home/End   move (also Ctrl-A/Ctrl-E)
              Backspace/Del  delete a character
              Ctrl-U/K/W     delete to the start/to the end/the word before
              ↑/↓            this session's earlier prompts

            The picture is drawn in real pixels where the terminal can (--graphics auto asks it: \
            kitty graphics, iTerm2 images or sixel; see `imagine show --help`), else in coloured \
            symbols: 24-bit colour when COLORTERM is truecolor/24bit or terminfo says RGB \
            (TERM=xterm-direct), else the 256-colour palette. The status line names the mode.

            EXAMPLES
              imagine live --model ~/models/sd-turbo --out-dir out
              imagine live --model Tests/Fixtures/pipeline/tiny-sd --seed 7
              imagine live --model ~/models/sd-turbo --init-image photo.jpg --strength 0.5 --steps 2
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var renderOptions: LiveRenderOptions
    @OptionGroup var loraOptions: LoRAOptions

    @Option(help: ArgumentHelp("Where Enter saves PNGs (created if missing).", valueName: "dir"))
    var outDir = "."

    @OptionGroup var upscaleOptions: UpscaleOptions

    @OptionGroup var graphicsOptions: GraphicsOptions

    @OptionGroup var threadOptions: ThreadOptions

    func run() throws {
        threadOptions.apply()
        // No local copy of the model: merging a LoRA rebuilds the pipeline's U-Net, and a second
        // reference would keep the old weights alive beside the new ones.
        let pipeline = Pipeline(model: try reportingErrors { try modelOptions.load() })
        let settings = try reportingErrors { try renderOptions.settings(for: pipeline, loras: loraOptions) }
        try reportingErrors {
            try PNGOutput.checkUpscale(settings.request(prompt: "", seed: 0, quality: .save), upscale: upscaleOptions.upscale)
        }
        let outputDirectory = URL(fileURLWithPath: outDir)

        // Printed after the terminal is restored, so the paths stay on screen and in scripts.
        var saved: [String] = []
        let inbox = EventInbox<RenderOutcome>()
        let worker = RenderWorker(renderer: PipelineRenderer(pipeline: pipeline)) { inbox.post($0) }
        let session = LiveSession(
            settings: settings, modelName: pipeline.model.name,
            compute: "\(pipeline.model.precision.rawValue), \(BLASKernels.coreName)", seed: renderOptions.seed, scheduler: worker,
            clock: monotonicSeconds, drawSeed: { UInt64.random(in: 0..<(1 << 32)) },
            save: { image in
                let name = "\(slug(image.job.request.prompt))-\(image.job.request.seed).png"
                let path = try PNGOutput.write(image.pixels, request: image.job.request, model: pipeline.model,
                                               loras: try pipeline.usedLoRAs(for: image.job.request),
                                               upscale: upscaleOptions.upscale,
                                               to: outputDirectory.appendingPathComponent(name))
                saved.append(path)
                return path
            })

        let screen: LiveScreen
        do {
            screen = try LiveScreen(graphicsOptions: graphicsOptions)
        } catch {
            worker.stop()
            printError("error: \(error)")
            throw ExitCode(1)
        }
        session.showGraphics(screen.graphics.mode.rawValue, hint: screen.graphics.hint)
        do {
            defer { screen.close() }
            runLoop(session: session, screen: screen, inbox: inbox)
            worker.stop()
            // A save still rendering when Esc came has finished by now; write it.
            for outcome in inbox.drain() { session.handle(.render(outcome)) }
        }
        try reportingErrors { try StandardStream.output(saved.map { $0 + "\n" }.joined()) }
        if case .error(let reason) = session.status.message { printError("error: \(reason)") }
    }

    /// Sleeps until a key, a finished render or the refine deadline, handles them, redraws.
    private func runLoop(session: LiveSession, screen: LiveScreen, inbox: EventInbox<RenderOutcome>) {
        session.start()
        var picture: (jobID: Int, image: RGBImage)?
        var forceImage = true
        while !session.wantsToQuit {
            if let image = session.image, image.job.id != picture?.jobID {
                picture = (image.job.id, PNGOutput.rgbImage(image.pixels))
            }
            screen.draw(session: session, picture: picture, forceImage: forceImage)
            forceImage = false

            let timeout = session.nextDeadline.map { max(0, $0 - monotonicSeconds()) }
            var descriptors = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: inbox.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
            // EINTR (SIGWINCH) is fine: ncurses has queued KEY_RESIZE for readInput.
            _ = poll(&descriptors, 2, timeout.map { Int32(($0 * 1000).rounded(.up)) } ?? -1)

            for outcome in inbox.drain() { session.handle(.render(outcome)) }
            let (events, resized) = screen.readInput()
            forceImage = resized
            for event in events {
                session.handle(event)
                if session.wantsToQuit { break }
            }
            if let deadline = session.nextDeadline, monotonicSeconds() >= deadline { session.handle(.tick) }
        }
    }
}

/// The render settings `live` and `bench live` share.
struct LiveRenderOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Seed for the whole session (default: random; Ctrl-R draws a new one).",
            transform: parseSeed)
    var seed: UInt64?

    @Option(parsing: .unconditional, help: "Sampler steps of the full-quality render after a pause and for Enter (default: the model's imagine.json, else 20).")
    var steps: Int?

    @Option(parsing: .unconditional, help: "Sampler steps of the per-keystroke preview, 1 or 2 (default: the model's imagine.json, else 1).")
    var previewSteps: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Preview width and height in pixels, a multiple of 8 (default: the model's native size, at most 256).",
        valueName: "pixels"))
    var previewSize: Int?

    @Option(help: ArgumentHelp(
        "Decoder of the per-keystroke preview (default: the model's imagine.json, else tiny "
            + "when the model has a tiny decoder, else latent).", valueName: "name"))
    var previewDecoder: DecoderKind?

    @Option(parsing: .unconditional, help: "Milliseconds without a key before the full-quality render starts.")
    var refineDelayMs = 300

    @Option(help: ArgumentHelp(
        "Decoder of the full-quality render (default: the model's imagine.json, else vae).", valueName: "name"))
    var decoder: DecoderKind?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Classifier-free guidance; 1 or less turns it off (default: the model's imagine.json, else 7.5; "
            + "one-step models such as SD-Turbo want 0, and guidance costs twice per step).",
        valueName: "scale"))
    var cfg: Float?

    @Option(help: ArgumentHelp(
        "The sampler (default: the model's imagine.json, else euler).", valueName: "name"))
    var sampler: SamplerKind?

    @Option(help: ArgumentHelp(
        "Restyle this picture (PNG or JPEG) as you type: image to image, encoded once. The full render "
            + "has the picture's size rounded down to multiples of 8, the preview that shape within "
            + "--preview-size, with enough steps to run --preview-steps of them.", valueName: "file"))
    var initImage: String?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "How much of the init image is redrawn, 0…1: only the last int(steps × strength) steps run "
            + "(default: 0.8).", valueName: "s"))
    var strength: Double?

    func validate() throws {
        if let previewSteps, !(1...2).contains(previewSteps) {
            throw ValidationError("--preview-steps must be 1 or 2, got \(previewSteps)")
        }
        if refineDelayMs < 0 { throw ValidationError("--refine-delay-ms must not be negative, got \(refineDelayMs)") }
        if strength != nil && initImage == nil { throw ValidationError("--strength needs --init-image") }
    }

    /// The model's defaults (the full render at its native size, the preview at most 256²) under
    /// these options, checked as every request is (`Pipeline.validate`).
    func settings(for pipeline: Pipeline, loras: LoRAOptions? = nil) throws -> LiveSettings {
        let model = pipeline.model
        var settings = LiveSettings(defaults: model.defaults)
        settings.previewSteps = previewSteps ?? settings.previewSteps
        settings.previewSize = previewSize ?? settings.previewSize
        settings.previewDecoder = previewDecoder ?? settings.previewDecoder
        settings.refineSteps = steps ?? settings.refineSteps
        settings.refineDecoder = decoder ?? settings.refineDecoder
        settings.refineDelay = Double(refineDelayMs) / 1000
        settings.guidanceScale = cfg ?? settings.guidanceScale
        settings.sampler = sampler ?? settings.sampler
        settings.loras = try loras?.references() ?? []
        settings.loraDirectory = loras?.directory
        if let initImage {
            settings.initImage = try InitImageFile.read(initImage)
            settings.strength = strength ?? GenerationRequest.defaultStrength
            settings.scaleFactor = model.vaeScaleFactor
        }
        for quality in [RenderJob.Kind.preview, .save] {
            try pipeline.validate(settings.request(prompt: "", seed: 0, quality: quality))
        }
        return settings
    }
}

/// Seconds on the monotonic clock (never jumps with the wall clock).
func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}
