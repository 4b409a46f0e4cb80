import Dispatch
import Models

/// Turns a request into pixels. The production one runs the diffusion `Pipeline`; tests use fakes.
public protocol Renderer: Sendable {
    /// Renders `job`, calling `onStep(step, steps)` after each sampler step.
    ///
    /// Must poll `isCancelled` often (the pipeline does between U-Net blocks) and throw
    /// `CancellationError` once it returns true, so a keystroke stops stale work within
    /// milliseconds.
    func render(_ job: RenderJob, isCancelled: @escaping @Sendable () -> Bool,
                onStep: @escaping (Int, Int) -> Void) throws -> RenderedImage
}

/// Renders with one loaded model. Prompt encodings stay in the pipeline's cache, so going back
/// to an earlier prompt (Backspace) skips the text encoder.
public struct PipelineRenderer: Renderer {
    public let pipeline: Pipeline

    public init(pipeline: Pipeline) { self.pipeline = pipeline }

    public func render(_ job: RenderJob, isCancelled: @escaping @Sendable () -> Bool,
                       onStep: @escaping (Int, Int) -> Void) throws -> RenderedImage {
        let start = DispatchTime.now()
        let result = try pipeline.generate(job.request, onStep: { onStep($0.step, $0.steps) },
                                           isCancelled: isCancelled)
        return RenderedImage(job: job, pixels: result.image,
                             renderSeconds: Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
    }
}
