import ArgumentParser
import Foundation
import ImageIO
import Kernels
import Live
import Models
import TerminalGraphics

/// `imagine bench live`: a typed prompt replayed through the live session, timed.
struct BenchLive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Replay a typed prompt through the live preview and report keystroke→screen latency.",
        discussion: """
            Types PROMPT one character at a time with seeded random gaps (--min-gap-ms to \
            --max-gap-ms) into the same session, render worker and renderer as imagine live, \
            with a headless screen: each finished picture is encoded for a --columns × --rows \
            terminal of --cell-width × --cell-height pixel cells in --graphics mode, as imagine \
            live would draw it. A keystroke's latency runs from \
            when it was due to when a picture reflecting it (its own or a later key's) was on \
            the screen. Refine-on-pause is not exercised (the gaps are shorter than a pause). \
            Before the typing, a few previews of new prompts are rendered alone, one after \
            another: their median is the latency's floor on this machine, with no render in \
            the way. --preview-sizes replays the typing at each size in turn, with the model \
            loaded once.

            EXAMPLES
              imagine bench live --model Tests/Fixtures/pipeline/tiny-sd
              imagine bench live --model ~/models/sd-turbo --preview-size 256 --threads 2
              imagine bench live --model ~/models/sdxs-512 --preview-sizes 256,512 --cfg 0 --precision bf16
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var renderOptions: LiveRenderOptions

    @Option(help: "The prompt to type.")
    var prompt = "a lighthouse on a cliff at sunset, oil painting, dramatic sky"

    @Option(help: "Shortest gap between keys, ms.")
    var minGapMs = 80

    @Option(help: "Longest gap between keys, ms.")
    var maxGapMs = 150

    @Option(help: "Seed of the gap sequence.")
    var gapSeed: UInt64 = 1

    @Option(help: "Terminal size of the headless screen.")
    var columns = 100

    @Option(help: "Terminal size of the headless screen.")
    var rows = 40

    @Option(help: "Pixel size of the headless screen's cells.")
    var cellWidth = 8

    @Option(help: "Pixel size of the headless screen's cells.")
    var cellHeight = 16

    @Option(help: ArgumentHelp("How the headless screen draws pictures (imagine live's --graphics; with no "
                               + "terminal to ask, auto means symbols).", valueName: "mode"))
    var graphics: GraphicsChoice = .symbols

    @Option(help: ArgumentHelp("Preview sizes to measure one after another, comma-separated (instead of --preview-size).",
                               valueName: "list"))
    var previewSizes: String?

    @OptionGroup var threadOptions: ThreadOptions

    /// Previews rendered alone before the typing, for the latency's floor.
    static let aloneRenders = 3

    private var parsedPreviewSizes: [Int]? {
        guard let previewSizes else { return nil }
        let values = previewSizes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! > 0 && $0! % 8 == 0 }) else { return [] }
        return values.map { $0! }
    }

    func validate() throws {
        if parsedPreviewSizes?.isEmpty == true {
            throw ValidationError("--preview-sizes must be positive multiples of 8, comma-separated, got '\(previewSizes!)'")
        }
        if previewSizes != nil && renderOptions.previewSize != nil {
            throw ValidationError("--preview-sizes and --preview-size: give one of them")
        }
        if minGapMs < 0 || maxGapMs < minGapMs { throw ValidationError("need 0 ≤ --min-gap-ms ≤ --max-gap-ms") }
        if prompt.isEmpty { throw ValidationError("--prompt must not be empty") }
        if columns < 1 || rows < 3 { throw ValidationError("--columns must be ≥ 1 and --rows ≥ 3") }
        if cellWidth < 1 || cellHeight < 1 { throw ValidationError("--cell-width and --cell-height must be ≥ 1") }
    }

    func run() throws {
        threadOptions.apply()
        let model = try reportingErrors { try modelOptions.load() }
        let pipeline = Pipeline(model: model)
        let defaults = try reportingErrors { try renderOptions.settings(for: pipeline) }
        for (index, size) in (parsedPreviewSizes ?? [defaults.previewSize]).enumerated() {
            var settings = defaults
            settings.previewSize = size
            try reportingErrors { try pipeline.validate(settings.request(prompt: "", seed: 0, quality: .preview)) }
            if index > 0 { print("") }
            try replay(model: model, pipeline: pipeline, settings: settings)
        }
    }

    /// The typing at one preview size, reported.
    private func replay(model: DiffusionModel, pipeline: Pipeline, settings: LiveSettings) throws {
        // Page the weights in and size BLAS buffers, as the first render of `live` does before
        // anyone has typed; prompts unlike the typed one, so those still meet a cold cache.
        _ = try pipeline.generate(settings.request(prompt: "warm-up", seed: 0, quality: .preview))
        var alone: [Double] = []
        for index in 0..<Self.aloneRenders {
            let start = monotonicSeconds()
            _ = try pipeline.generate(settings.request(prompt: "warm-up \(index + 1)", seed: 0, quality: .preview))
            alone.append((monotonicSeconds() - start) * 1000)
        }

        let inbox = EventInbox<RenderOutcome>()
        let worker = RenderWorker(renderer: PipelineRenderer(pipeline: pipeline)) { inbox.post($0) }
        defer { worker.stop() }
        let session = LiveSession(
            settings: settings, modelName: model.name, seed: renderOptions.seed ?? 0, scheduler: worker,
            clock: monotonicSeconds, drawSeed: { 0 },
            save: { _ in throw LiveError("the benchmark saves nothing") })

        let presenter = PicturePresenter(mode: graphics.mode ?? .symbols, colors: .trueColor,
                                         cell: CellSize(width: cellWidth, height: cellHeight))
        let keystrokes = try replayTyping(session: session, inbox: inbox, presenter: presenter)
        report(keystrokes, cancelled: session.cancelledRenders, aloneMs: alone, model: model, settings: settings)
    }

    /// One keystroke that changed the prompt, and what became of its picture.
    struct Keystroke {
        let due: Double
        let job: RenderJob
        /// When the first picture reflecting this key (its job or a newer one) was on screen.
        var reflectedAt: Double?
        /// When this key's own picture was on screen.
        var ownShownAt: Double?
        /// When the following key came (nil for the last key).
        var nextKeyDue: Double?

        /// Its own picture was on screen before the next key arrived.
        var shownInTime: Bool {
            guard let ownShownAt else { return false }
            return nextKeyDue.map { ownShownAt <= $0 } ?? true
        }
    }

    private func replayTyping(session: LiveSession, inbox: EventInbox<RenderOutcome>,
                              presenter: PicturePresenter) throws -> [Keystroke] {
        var gaps = SplitMix64(seed: gapSeed)
        let characters = Array(prompt)
        var keystrokes: [Keystroke] = []
        var shownJobID = -1
        var screen: [UInt8] = []  // the headless terminal's last frame, as it would be written
        session.start()
        var nextDue = monotonicSeconds()
        var typed = 0
        let deadline = nextDue + Double(characters.count) * Double(maxGapMs) / 1000 + 30

        while monotonicSeconds() < deadline {
            let now = monotonicSeconds()
            if typed < characters.count && now >= nextDue {
                let before = session.lastSubmitted?.id
                session.handle(.edit(.insert(String(characters[typed]))))
                if let job = session.lastSubmitted, job.id != before {
                    keystrokes.append(Keystroke(due: nextDue, job: job))
                }
                typed += 1
                nextDue += Double(minGapMs + Int(gaps.next() % UInt64(maxGapMs - minGapMs + 1))) / 1000
                if typed < characters.count, !keystrokes.isEmpty { keystrokes[keystrokes.count - 1].nextKeyDue = nextDue }
            }
            for outcome in inbox.drain() { session.handle(.render(outcome)) }
            if let image = session.image, image.job.id != shownJobID {
                shownJobID = image.job.id
                screen = try draw(image, with: presenter)
                let shownAt = monotonicSeconds()
                for i in keystrokes.indices where keystrokes[i].job.id <= image.job.id {
                    if keystrokes[i].reflectedAt == nil { keystrokes[i].reflectedAt = shownAt }
                    if keystrokes[i].job.id == image.job.id { keystrokes[i].ownShownAt = shownAt }
                }
            }
            if typed == characters.count, let last = keystrokes.last, last.ownShownAt != nil { break }
            inbox.wait(timeout: typed < characters.count ? max(0, nextDue - monotonicSeconds()) : nil)
        }
        precondition(!screen.isEmpty || keystrokes.isEmpty, "no picture was ever drawn")
        return keystrokes
    }

    /// What `imagine live` does with a finished picture: bytes → terminal bytes for the pane.
    private func draw(_ image: RenderedImage, with presenter: PicturePresenter) throws -> [UInt8] {
        try presenter.place(PNGOutput.rgbImage(image.pixels),
                            in: PictureLayout(column: 0, row: 0, columns: columns, rows: rows - 2))
    }

    private func report(_ keystrokes: [Keystroke], cancelled: Int, aloneMs: [Double], model: DiffusionModel,
                        settings: LiveSettings) {
        let nativeSize = model.defaults.size
        print("model \(model.name) (native \(nativeSize)×\(nativeSize), \(model.precision.rawValue)); preview \(settings.previewSize)×\(settings.previewSize), "
              + "\(settings.previewSteps) step(s), \(settings.previewDecoder.rawValue) decoder, cfg \(formatted(settings.guidanceScale)); "
              + "\(Threads.count) threads, \(BLASKernelSelection.description)")
        print("typed \(prompt.count) keys, gaps \(minGapMs)–\(maxGapMs) ms (seed \(gapSeed)); "
              + "headless screen \(columns)×\(rows) cells of \(cellWidth)×\(cellHeight) pixels, \(graphics.mode ?? .symbols); \(keystrokes.count) keys changed the prompt")
        print(String(format: "a preview rendered alone (new prompt, idle worker): median %.0f ms of %d", median(aloneMs), aloneMs.count))
        let latencies = keystrokes.compactMap { key in key.reflectedAt.map { ($0 - key.due) * 1000 } }.sorted()
        guard !latencies.isEmpty else {
            print("no picture reached the screen")
            return
        }
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))] }
        print(String(format: "keystroke→picture on screen: p50 %.0f ms, p95 %.0f ms, max %.0f ms",
                     percentile(0.5), percentile(0.95), latencies.last!))
        let inTime = keystrokes.filter(\.shownInTime).count
        print(String(format: "own picture shown before the next key: %d of %d keys (%.0f %%); renders cancelled: %d",
                     inTime, keystrokes.count, 100 * Double(inTime) / Double(keystrokes.count), cancelled))
    }

    private func formatted(_ value: Float) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

