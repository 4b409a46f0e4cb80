import Kernels
import Live
import Models

/// Records what the session asks for; the test plays the render thread by hand.
final class RecordingScheduler: RenderScheduling {
    private(set) var submitted: [RenderJob] = []
    /// Per submitted job: whether it cancels the job in flight.
    private(set) var cancellingRunning: [Bool] = []
    private(set) var cancelCount = 0

    func submit(_ job: RenderJob, cancellingRunning: Bool) {
        submitted.append(job)
        self.cancellingRunning.append(cancellingRunning)
    }
    func cancelCancellable() { cancelCount += 1 }
}

final class SeedList {
    private var seeds: [UInt64]
    init(_ seeds: [UInt64]) { self.seeds = seeds }
    func next() -> UInt64 { seeds.removeFirst() }
}

/// A clock the test moves.
final class FakeClock {
    var now = 100.0
}

/// A session on a fake clock and scheduler, with the helpers tests use to answer its jobs.
final class SessionHarness {
    let clock: FakeClock
    let scheduler: RecordingScheduler
    var savedImages: [RenderedImage] = []
    var saveError: Error?
    /// What `drawSeed` returns, in order.
    let seeds = SeedList([1001, 1002, 1003])
    let session: LiveSession

    init(settings: LiveSettings = .testing, seed: UInt64? = 42) {
        var settings = settings
        settings.refineDelay = 0.3
        let clock = FakeClock(), scheduler = RecordingScheduler(), seeds = seeds
        self.clock = clock
        self.scheduler = scheduler
        // `save` needs the harness, which exists only once `session` is set.
        nonisolated(unsafe) var box: SessionHarness!
        session = LiveSession(
            settings: settings, modelName: "tiny", seed: seed, scheduler: scheduler,
            clock: { clock.now }, drawSeed: { seeds.next() },
            save: { image in
                if let error = box.saveError { throw error }
                box.savedImages.append(image)
                return "/out/\(image.job.request.prompt).png"
            })
        box = self
    }

    var jobs: [RenderJob] { scheduler.submitted }
    var lastJob: RenderJob { scheduler.submitted.last! }

    func type(_ text: String) {
        for character in text { session.handle(.edit(.insert(String(character)))) }
    }

    func finish(_ job: RenderJob, renderSeconds: Double = 0.01) {
        let pixels = Tensor(zeros: [1, 3, job.request.height, job.request.width])
        session.handle(.render(.finished(RenderedImage(job: job, pixels: pixels, renderSeconds: renderSeconds))))
    }

    func cancel(_ job: RenderJob) { session.handle(.render(.cancelled(job))) }

    /// Moves the clock and delivers the tick the front end would send at the deadline.
    func wait(_ seconds: Double) {
        clock.now += seconds
        session.handle(.tick)
    }
}

extension LiveSettings {
    static var testing: LiveSettings {
        var settings = LiveSettings(defaults: .standard)
        settings.previewSteps = 1
        settings.previewSize = 32
        settings.previewDecoder = .latent
        settings.refineSteps = 8
        settings.refineSize = 64
        settings.refineDecoder = .vae
        return settings
    }
}
