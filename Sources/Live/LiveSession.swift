import Models

/// What the front end tells the session.
public enum LiveEvent: Sendable {
    case edit(EditKey)
    /// Save the current prompt at full quality.
    case enter
    /// Ctrl-R: a new seed for the rest of the session.
    case reseed
    /// Esc, Ctrl-C.
    case quit
    /// Time passed (the front end sends one at `nextDeadline`).
    case tick
    case render(RenderOutcome)
}

/// The type-as-you-go session: which render to run when, and what the screen shows.
///
/// Owned by one thread (the front end's), which feeds it events and reads its state; renders
/// run elsewhere behind `RenderScheduling` and come back as `.render` events. Rules:
/// - every edit that changes the (normalized) prompt starts a preview, and an edit that leaves
///   the prompt as it was renders nothing; the newest preview replaces one still waiting, and
///   cancels the one in flight unless typing outpaces rendering (see `cancelsRunningPreview`);
/// - when no key has come for `refineDelay` and the preview of the current prompt is on screen,
///   a full-quality render starts; any key abandons it;
/// - Enter saves the current prompt at full quality, reusing the refined picture when that is
///   what is on screen;
/// - the seed stays fixed until `.reseed`, so the picture morphs rather than jumps.
public final class LiveSession {
    public private(set) var editor = PromptEditor()
    public private(set) var seed: UInt64
    public private(set) var status: LiveStatus
    /// The newest picture finished (never an older one after a newer).
    public private(set) var image: RenderedImage?
    /// The newest preview or refine asked for.
    public private(set) var lastSubmitted: RenderJob?
    public private(set) var wantsToQuit = false
    /// Renders stopped before finishing (replaced or cancelled), for the benchmark.
    public private(set) var cancelledRenders = 0

    public let settings: LiveSettings
    private let scheduler: RenderScheduling
    private let clock: () -> Double
    private let drawSeed: () -> UInt64
    private let save: (RenderedImage) throws -> String
    private var nextJobID = 1
    /// The newest preview or refine, until its outcome arrives. Older ones are being cancelled
    /// by the scheduler; they no longer decide anything.
    private var current: RenderJob?
    /// Saves whose outcome has not arrived yet.
    private var pendingSaves: [RenderJob] = []
    private var lastInputAt: Double
    /// Seconds between the last two keys.
    private var keyGap = Double.infinity
    /// How long the last finished preview took to render.
    private var previewSeconds: Double?
    /// When the oldest preview still without an answer was asked for.
    private var previewPendingSince: Double?

    /// - compute: how the model computes, for the status line (see `LiveStatus.compute`).
    /// - clock: seconds on a monotonic clock (a fake one in tests).
    /// - drawSeed: a fresh random seed, for `.reseed` (and the first seed when `seed` is nil).
    /// - save: writes a full-quality picture, returns its path; runs on the session's thread.
    public init(settings: LiveSettings, modelName: String, compute: String? = nil, seed: UInt64?,
                scheduler: RenderScheduling,
                clock: @escaping () -> Double, drawSeed: @escaping () -> UInt64,
                save: @escaping (RenderedImage) throws -> String) {
        self.settings = settings
        self.scheduler = scheduler
        self.clock = clock
        self.drawSeed = drawSeed
        self.save = save
        self.seed = seed ?? drawSeed()
        status = LiveStatus(modelName: modelName, seed: self.seed,
                            previewSteps: settings.previewSteps, refineSteps: settings.refineSteps)
        status.compute = compute
        status.previewSize = settings.previewSize
        status.previewDecoder = settings.previewDecoder
        lastInputAt = clock()
    }

    /// Names the terminal's picture mode on the status line, with a hint when there is one.
    public func showGraphics(_ mode: String, hint: String?) {
        status.graphics = mode
        if let hint { status.message = .notice(hint) }
    }

    /// The prompt as it is rendered and saved.
    public var prompt: String { PromptText.normalized(editor.text) }

    /// Renders the (empty) starting prompt, so a picture appears before the first key.
    public func start() {
        lastInputAt = clock()
        previewIfChanged()
    }

    /// When the front end should send `.tick` (nil: only events matter now).
    public var nextDeadline: Double? {
        refineIsWanted ? lastInputAt + settings.refineDelay : nil
    }

    public func handle(_ event: LiveEvent) {
        switch event {
        case .edit(let key):
            keyArrived()
            editor.apply(key)
            previewIfChanged()
        case .reseed:
            keyArrived()
            seed = drawSeed()
            status.seed = seed
            previewIfChanged()
        case .enter:
            keyArrived()
            editor.remember(editor.text)
            saveCurrentPrompt()
        case .quit:
            wantsToQuit = true
        case .tick:
            refineIfDue()
        case .render(let outcome):
            received(outcome)
        }
    }

    // MARK: - Keys

    /// Any key restarts the pause timer and abandons a refine in flight.
    private func keyArrived() {
        let now = clock()
        keyGap = now - lastInputAt
        lastInputAt = now
        if current?.kind == .refine {
            scheduler.cancelCancellable()
            status.refineProgress = nil
        }
    }

    private func previewIfChanged() {
        if let last = lastSubmitted, isCurrent(last) { return }
        lastSubmitted = submit(.preview)
        status.showingRefined = false
    }

    private func saveCurrentPrompt() {
        if let image, image.job.kind != .preview, isCurrent(image.job) {
            write(image)
            return
        }
        let request = settings.request(prompt: prompt, seed: seed, quality: .save)
        guard !pendingSaves.contains(where: { $0.request == request }) else { return }
        status.message = .saving
        _ = submit(.save)
    }

    // MARK: - Refine on pause

    /// The current prompt's preview is on screen, nothing else is rendering it, and it has not
    /// been refined yet.
    private var refineIsWanted: Bool {
        guard let image, image.job.kind == .preview, isCurrent(image.job) else { return false }
        return current == nil && !pendingSaves.contains(where: isCurrent)
    }

    private func refineIfDue() {
        guard refineIsWanted, clock() >= lastInputAt + settings.refineDelay else { return }
        lastSubmitted = submit(.refine)
        status.refineProgress = .init(step: 0, steps: settings.refineSteps)
    }

    // MARK: - Outcomes

    private func received(_ outcome: RenderOutcome) {
        let job = outcome.job
        switch outcome {
        case .progress(_, let step, let steps):
            if job.kind == .refine, current?.id == job.id { status.refineProgress = .init(step: step, steps: steps) }
            return
        case .finished(let finished):
            if case .error = status.message { status.message = nil }
            if job.kind == .preview {
                previewSeconds = finished.renderSeconds
                previewPendingSince = nil
            }
            show(finished)
            if job.kind == .save { write(finished) }
        case .cancelled:
            cancelledRenders += 1
        case .failed(_, let message):
            status.message = .error(message)
        }
        if current?.id == job.id { current = nil }
        pendingSaves.removeAll { $0.id == job.id }
        if job.kind == .refine { status.refineProgress = nil }
        // A preview that finishes after the pause has passed is refined at once.
        refineIfDue()
    }

    private func show(_ finished: RenderedImage) {
        // A stale render can finish after a newer one (it had passed its last cancellation
        // check); showing it would make the picture jump back.
        if let image, image.job.id > finished.job.id { return }
        image = finished
        status.showingRefined = finished.job.kind != .preview && isCurrent(finished.job)
        if finished.job.kind == .preview {
            status.previewLatencyMs = Int(((clock() - finished.job.requestedAt) * 1000).rounded())
        }
    }

    private func write(_ image: RenderedImage) {
        do {
            status.message = .saved(path: try save(image))
        } catch {
            status.message = .error("\(error)")
        }
    }

    // MARK: - Jobs

    private func submit(_ kind: RenderJob.Kind) -> RenderJob {
        let job = RenderJob(id: nextJobID, kind: kind,
                            request: settings.request(prompt: prompt, seed: seed, quality: kind),
                            requestedAt: lastInputAt)
        nextJobID += 1
        if job.isCancellable { current = job } else { pendingSaves.append(job) }
        scheduler.submit(job, cancellingRunning: kind == .preview ? cancelsRunningPreview : true)
        if kind == .preview && previewPendingSince == nil { previewPendingSince = lastInputAt }
        return job
    }

    /// Whether a new preview should cancel the one in flight. When a preview renders faster than
    /// keys come, the newest key's picture is ready before the next key: latest wins. When keys
    /// come faster than a preview renders (a large model), cancelling on every key would show
    /// nothing until typing stops; then the preview in flight finishes and only the newest prompt
    /// waits behind it, so the picture keeps changing every few letters.
    /// Before the first preview has finished, the time spent waiting for one is the estimate.
    private var cancelsRunningPreview: Bool {
        let waited = previewPendingSince.map { lastInputAt - $0 } ?? 0
        return max(previewSeconds ?? 0, waited) <= keyGap
    }

    private func isCurrent(_ job: RenderJob) -> Bool {
        job.request.prompt == prompt && job.request.seed == seed
    }
}
