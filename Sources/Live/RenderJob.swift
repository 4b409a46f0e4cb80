import Kernels
import Models

/// One render the session asked for.
public struct RenderJob: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Per keystroke; the next keystroke cancels it.
        case preview
        /// After a pause; any key cancels it.
        case refine
        /// Enter; never cancelled, its picture goes to a file.
        case save
    }

    /// Increases with every job of a session, so outcomes can be matched to what is current.
    public let id: Int
    public let kind: Kind
    public let request: GenerationRequest
    /// When the input that caused it arrived (the session's clock), for keystroke→screen latency.
    public let requestedAt: Double

    public init(id: Int, kind: Kind, request: GenerationRequest, requestedAt: Double) {
        self.id = id
        self.kind = kind
        self.request = request
        self.requestedAt = requestedAt
    }

    /// Typing cannot cancel a save: the user asked for that file.
    public var isCancellable: Bool { kind != .save }
}

/// A finished render.
public struct RenderedImage: Sendable, Equatable {
    public let job: RenderJob
    /// [1, 3, height, width] in about [-1, 1].
    public let pixels: Tensor
    /// How long the render itself took (not its wait for the worker).
    public let renderSeconds: Double

    public init(job: RenderJob, pixels: Tensor, renderSeconds: Double) {
        self.job = job
        self.pixels = pixels
        self.renderSeconds = renderSeconds
    }

    public var width: Int { pixels.shape[3] }
    public var height: Int { pixels.shape[2] }
}

/// What became of a job; the worker reports exactly one of finished/cancelled/failed per job.
public enum RenderOutcome: Sendable {
    case progress(RenderJob, step: Int, of: Int)
    case finished(RenderedImage)
    case cancelled(RenderJob)
    case failed(RenderJob, message: String)

    public var job: RenderJob {
        switch self {
        case .progress(let job, _, _), .cancelled(let job), .failed(let job, _): return job
        case .finished(let image): return image.job
        }
    }
}
