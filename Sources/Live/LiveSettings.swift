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
    /// Image to image: every render restyles this picture (the pipeline encodes it once per
    /// size), the full one at the size diffusers gives it (its own, each side rounded down to a
    /// multiple of `scaleFactor`), the preview at that shape within `previewSize`².
    public var initImage: InitImage?
    public var strength = 0.8
    /// The VAE's scale (8 for SD): sizes are multiples of it.
    public var scaleFactor = 8

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
        if let initImage {
            request.initImage = initImage
            request.strength = strength
            let full = initImage.defaultSize(multipleOf: scaleFactor)
            if quality == .preview {
                // Image to image runs only the last int(steps × strength) steps: ask for enough
                // that the preview still runs its previewSteps, and costs no more.
                request.steps = Self.steps(running: previewSteps, strength: strength)
                let shrink = min(1, Double(previewSize) / Double(max(full.width, full.height, 1)))
                request.width = max(scaleFactor, Int(Double(full.width) * shrink) / scaleFactor * scaleFactor)
                request.height = max(scaleFactor, Int(Double(full.height) * shrink) / scaleFactor * scaleFactor)
            } else {
                (request.width, request.height) = full
            }
        }
        return request
    }

    /// The fewest steps n ≥ `running` for which image to image runs `running` of them,
    /// int(n × strength) ≥ running (`running` itself when the strength is too small to get there).
    static func steps(running: Int, strength: Double) -> Int {
        guard strength > 0 else { return running }
        var steps = running
        while Int(Double(steps) * strength) < running && steps < 1000 { steps += 1 }
        return steps
    }
}
