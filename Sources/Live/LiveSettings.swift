import Foundation
import Models

/// How a live session renders: a cheap preview per keystroke, a full render after a pause.
public struct LiveSettings: Sendable, Equatable {
    /// Per keystroke: 1–2 steps at a reduced size with the tiny or latent decoder.
    public var previewSteps: Int
    public var previewSize: Int
    public var previewDecoder: DecoderKind
    /// After a pause, and for Enter: the model's full quality.
    public var refineSteps: Int
    public var refineSize: Int
    public var refineDecoder: DecoderKind
    /// Seconds without a key before the refine render starts.
    public var refineDelay = 0.3
    public var guidanceScale: Float
    public var negativePrompt = ""
    public var sampler: SamplerKind
    /// `--lora` files, and where the prompt's `<lora:NAME…>` tags find theirs: typing or editing a
    /// tag merges its LoRA for the next render.
    public var loras: [LoRAReference] = []
    public var loraDirectory: URL?

    /// A model's defaults: its full-quality request after a pause, its preview per keystroke.
    public init(defaults: ModelDefaults) {
        previewSteps = defaults.previewSteps
        previewSize = defaults.previewSize
        previewDecoder = defaults.previewDecoder
        refineSteps = defaults.steps
        refineSize = defaults.size
        refineDecoder = defaults.decoder
        guidanceScale = defaults.guidanceScale
        sampler = defaults.sampler
    }

    /// The request for one prompt at one quality.
    public func request(prompt: String, seed: UInt64, quality: RenderJob.Kind) -> GenerationRequest {
        var request = GenerationRequest(prompt: prompt)
        request.seed = seed
        request.guidanceScale = guidanceScale
        request.negativePrompt = negativePrompt
        request.sampler = sampler
        request.loras = loras
        request.loraDirectory = loraDirectory
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
