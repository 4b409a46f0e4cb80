import Models

/// How a live session renders: a cheap preview per keystroke, a full render after a pause.
public struct LiveSettings: Sendable, Equatable {
    /// Per keystroke: 1–2 steps at a reduced size with the tiny or latent decoder.
    public var previewSteps = 1
    public var previewSize = 256
    public var previewDecoder: DecoderKind = .latent
    /// After a pause, and for Enter: the model's full quality.
    public var refineSteps = 20
    public var refineSize = 512
    public var refineDecoder: DecoderKind = .vae
    /// Seconds without a key before the refine render starts.
    public var refineDelay = 0.3
    public var guidanceScale: Float = 0
    public var negativePrompt = ""
    public var sampler: SamplerKind = .euler

    public init() {}

    /// The request for one prompt at one quality.
    public func request(prompt: String, seed: UInt64, quality: RenderJob.Kind) -> GenerationRequest {
        var request = GenerationRequest(prompt: prompt)
        request.seed = seed
        request.guidanceScale = guidanceScale
        request.negativePrompt = negativePrompt
        request.sampler = sampler
        switch quality {
        case .preview:
            request.steps = previewSteps
            request.width = previewSize
            request.height = previewSize
            request.decoder = previewDecoder
        case .refine, .save:
            request.steps = refineSteps
            request.width = refineSize
            request.height = refineSize
            request.decoder = refineDecoder
        }
        return request
    }
}
