import Foundation
import Kernels
import Live
import Models
import Testing

/// Renders until told to finish, polling `isCancelled` as the pipeline does between blocks.
final class GatedRenderer: Renderer, @unchecked Sendable {
    private let condition = NSCondition()
    private var released: Set<Int> = []
    private var active = 0
    private(set) var started: [Int] = []
    private(set) var mostAtOnce = 0

    func release(_ id: Int) {
        _ = condition.withLock { released.insert(id) }
    }

    /// Waits (bounded) until job `id` has started.
    func waitUntilStarted(_ id: Int) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if condition.withLock({ started.contains(id) }) { return true }
            Thread.sleep(forTimeInterval: 0.001)
        }
        return false
    }

    func render(_ job: RenderJob, isCancelled: @escaping @Sendable () -> Bool,
                onStep: @escaping (Int, Int) -> Void) throws -> RenderedImage {
        condition.withLock {
            started.append(job.id)
            active += 1
            mostAtOnce = max(mostAtOnce, active)
        }
        defer { condition.withLock { active -= 1 } }
        while !condition.withLock({ released.contains(job.id) }) {
            if isCancelled() { throw CancellationError() }
            Thread.sleep(forTimeInterval: 0.0005)
        }
        onStep(1, 1)
        return RenderedImage(job: job, pixels: Tensor(zeros: [1, 3, 8, 8]), renderSeconds: 0)
    }
}

@Suite struct RenderWorkerTests {
    private func job(_ id: Int, _ kind: RenderJob.Kind = .preview) -> RenderJob {
        RenderJob(id: id, kind: kind, request: GenerationRequest(prompt: "p\(id)"), requestedAt: 0)
    }

    /// A worker on a renderer the test releases job by job, posting into an inbox the test reads.
    private func gatedWorker() -> (GatedRenderer, EventInbox<RenderOutcome>, RenderWorker) {
        let renderer = GatedRenderer()
        let inbox = EventInbox<RenderOutcome>()
        return (renderer, inbox, RenderWorker(renderer: renderer) { inbox.post($0) })
    }

    /// The final outcome of each job, in the order they arrived (bounded wait for `count`).
    private func finals(_ inbox: EventInbox<RenderOutcome>, count: Int) -> [String] {
        var result: [String] = []
        let deadline = Date().addingTimeInterval(10)
        while result.count < count, Date() < deadline {
            inbox.wait(timeout: 0.1)
            for outcome in inbox.drain() {
                switch outcome {
                case .finished(let image): result.append("finished \(image.job.id)")
                case .cancelled(let job): result.append("cancelled \(job.id)")
                case .failed(let job, let message): result.append("failed \(job.id): \(message)")
                case .progress: break
                }
            }
        }
        return result
    }

    @Test func theNewestJobWinsAndRendersNeverQueueUp() {
        let (renderer, inbox, worker) = gatedWorker()
        defer { worker.stop() }
        worker.submit(job(1), cancellingRunning: true)
        #expect(renderer.waitUntilStarted(1))
        worker.submit(job(2), cancellingRunning: true)  // waits; cancels 1 at its next check
        worker.submit(job(3), cancellingRunning: true)  // replaces 2 before it ever starts
        renderer.release(3)
        let outcomes = finals(inbox, count: 3)
        #expect(Set(outcomes) == ["cancelled 1", "cancelled 2", "finished 3"])
        #expect(outcomes.last == "finished 3")
        #expect(renderer.started == [1, 3])
        #expect(renderer.mostAtOnce == 1)
    }

    @Test func withoutCancellingRunningTheRenderInFlightFinishesAndOnlyTheNewestWaits() {
        let (renderer, inbox, worker) = gatedWorker()
        defer { worker.stop() }
        worker.submit(job(1), cancellingRunning: true)
        #expect(renderer.waitUntilStarted(1))
        worker.submit(job(2), cancellingRunning: false)
        worker.submit(job(3), cancellingRunning: false)  // replaces 2; 1 keeps running
        renderer.release(1)
        renderer.release(3)
        #expect(finals(inbox, count: 3) == ["cancelled 2", "finished 1", "finished 3"])
        #expect(renderer.started == [1, 3])
    }

    @Test func cancellingStopsTheRenderInFlightAndDropsTheWaitingOne() {
        let (renderer, inbox, worker) = gatedWorker()
        defer { worker.stop() }
        worker.submit(job(1, .refine), cancellingRunning: true)
        #expect(renderer.waitUntilStarted(1))
        worker.cancelCancellable()
        #expect(finals(inbox, count: 1) == ["cancelled 1"])
    }

    @Test func savesAreNeitherCancelledNorReplacedAndGoBeforeTheNewestPreview() {
        let (renderer, inbox, worker) = gatedWorker()
        defer { worker.stop() }
        worker.submit(job(1, .save), cancellingRunning: true)
        #expect(renderer.waitUntilStarted(1))
        worker.submit(job(2, .save), cancellingRunning: true)
        worker.submit(job(3), cancellingRunning: true)
        worker.cancelCancellable()
        worker.submit(job(4), cancellingRunning: true)
        for id in [1, 2, 4] { renderer.release(id) }
        #expect(finals(inbox, count: 4) == ["cancelled 3", "finished 1", "finished 2", "finished 4"])
        #expect(renderer.started == [1, 2, 4])
    }

    @Test func aFailingRenderIsReportedWithItsMessage() {
        struct Broken: Renderer {
            func render(_ job: RenderJob, isCancelled: @escaping @Sendable () -> Bool,
                        onStep: @escaping (Int, Int) -> Void) throws -> RenderedImage {
                throw GenerationError("width and height must be positive multiples of 8, got 7×7")
            }
        }
        let inbox = EventInbox<RenderOutcome>()
        let worker = RenderWorker(renderer: Broken()) { inbox.post($0) }
        defer { worker.stop() }
        worker.submit(job(1), cancellingRunning: true)
        #expect(finals(inbox, count: 1) == ["failed 1: width and height must be positive multiples of 8, got 7×7"])
    }

    @Test func stopLetsASaveInFlightFinish() {
        let (renderer, inbox, worker) = gatedWorker()
        worker.submit(job(1, .save), cancellingRunning: true)
        #expect(renderer.waitUntilStarted(1))
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { renderer.release(1) }
        worker.stop()
        #expect(finals(inbox, count: 1) == ["finished 1"])
    }
}
