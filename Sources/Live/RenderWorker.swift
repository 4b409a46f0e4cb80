import Foundation

/// Where the session sends render jobs. `RenderWorker` runs them on a background thread; tests
/// record them and answer with outcomes by hand.
public protocol RenderScheduling: AnyObject {
    /// Runs `job` next. A cancellable job (preview, refine) replaces the cancellable job waiting to
    /// start, and with `cancellingRunning` also cancels the one in flight: latest wins, renders
    /// never queue up. Saves wait their turn and are never cancelled.
    func submit(_ job: RenderJob, cancellingRunning: Bool)
    /// Cancels the cancellable job in flight or waiting (a key arrived during a refine).
    func cancelCancellable()
}

/// One background thread that renders the newest job. Outcomes (progress, then exactly one of
/// finished/cancelled/failed per job) go to `onOutcome` on that thread.
public final class RenderWorker: RenderScheduling, @unchecked Sendable {
    private let renderer: any Renderer
    private let onOutcome: @Sendable (RenderOutcome) -> Void
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var saves: [RenderJob] = []
    private var waiting: RenderJob?
    private var running: (job: RenderJob, flag: CancellationFlag)?
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    public init(renderer: any Renderer, onOutcome: @escaping @Sendable (RenderOutcome) -> Void) {
        self.renderer = renderer
        self.onOutcome = onOutcome
        // The thread keeps the worker alive until `stop()`: a worker dropped without it (a
        // front end that failed to start) must not leave its thread reading a freed object.
        let thread = Thread { [self] in self.loop() }
        thread.name = "imagine-live-render"
        thread.start()
    }

    public func submit(_ job: RenderJob, cancellingRunning: Bool) {
        condition.lock()
        defer { condition.unlock() }
        if job.isCancellable {
            if let replaced = waiting { onOutcome(.cancelled(replaced)) }
            waiting = job
            if cancellingRunning, let running, running.job.isCancellable { running.flag.cancel() }
        } else {
            saves.append(job)
        }
        condition.signal()
    }

    public func cancelCancellable() {
        condition.lock()
        defer { condition.unlock() }
        if let dropped = waiting { onOutcome(.cancelled(dropped)) }
        waiting = nil
        if let running, running.job.isCancellable { running.flag.cancel() }
    }

    /// Cancels what can be cancelled, lets a save in flight finish (its outcome is posted as
    /// usual; drain it after this returns), drops the rest and waits for the thread to end.
    /// Call once, before exiting.
    public func stop() {
        condition.lock()
        stopping = true
        waiting = nil
        saves = []
        if let running, running.job.isCancellable { running.flag.cancel() }
        condition.signal()
        condition.unlock()
        finished.wait()
    }

    private func loop() {
        while true {
            condition.lock()
            while !stopping && saves.isEmpty && waiting == nil { condition.wait() }
            if stopping {
                condition.unlock()
                finished.signal()
                return
            }
            // The user asked for saves explicitly; they go before the newest preview.
            let job = saves.isEmpty ? waiting.take()! : saves.removeFirst()
            let flag = CancellationFlag()
            running = (job, flag)
            condition.unlock()

            let outcome: RenderOutcome
            do {
                let image = try renderer.render(job, isCancelled: { flag.isCancelled }) { [onOutcome] step, steps in
                    onOutcome(.progress(job, step: step, of: steps))
                }
                outcome = .finished(image)
            } catch is CancellationError {
                outcome = .cancelled(job)
            } catch {
                outcome = .failed(job, message: "\(error)")
            }
            condition.lock()
            running = nil
            onOutcome(outcome)
            condition.unlock()
        }
    }
}

/// Set by the scheduling thread, polled by the render between U-Net blocks.
final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    var isCancelled: Bool { lock.withLock { cancelled } }
    func cancel() { lock.withLock { cancelled = true } }
}

extension Optional {
    /// The value, leaving nil behind.
    fileprivate mutating func take() -> Wrapped? {
        defer { self = nil }
        return self
    }
}
