import Foundation
/// Everything that determines one picture. The same request on the same model gives the same
/// pixels on any run and thread count.
public struct GenerationRequest: Sendable, Equatable {
    public var prompt: String
    public var negativePrompt = ""
    public var seed: UInt64 = 0
    public var steps: Int
    /// Classifier-free guidance scale; ≤ 1 turns guidance off (one U-Net call per step).
    public var guidanceScale: Float
    public var width: Int
    public var height: Int
    public var sampler: SamplerKind
    public var decoder: DecoderKind
    /// LoRAs merged into the model for this request, each at its strength (`--lora`); the
    /// prompt's `<lora:NAME:STRENGTH>` tags add theirs (`Pipeline.loras(for:)`).
    public var loras: [LoRAReference] = []
    /// Where the prompt's `<lora:NAME…>` tags find `NAME.safetensors` (`--lora-dir`).
    public var loraDirectory: URL?
    /// img2img: the picture to start from, encoded by the VAE and noised to the timestep
    /// `strength` selects; nil starts from pure noise (text-to-image).
    public var initImage: InitImage?
    /// img2img: how much of `initImage` is redrawn, 0…1, as diffusers' `strength`: the sampler runs
    /// the last int(steps · strength) of its `steps` timesteps, so 1 redraws it from pure noise at
    /// the first one and small values keep it nearly as it is. A Double, as Python's float is: the
    /// product is truncated, and 10 × Float(0.7) is just under 7. Ignored without an init image.
    public var strength = 0.8

    /// `prompt` with a model's defaults for everything else (seed 0, no negative prompt).
    public init(prompt: String, defaults: ModelDefaults = .standard) {
        self.prompt = prompt
        steps = defaults.steps
        guidanceScale = defaults.guidanceScale
        width = defaults.size
        height = defaults.size
        sampler = defaults.sampler
        decoder = defaults.decoder
    }
}

/// How latents become pixels: the full VAE, the tiny TAESD decoder, or the per-pixel linear map.
public enum DecoderKind: String, Sendable, CaseIterable {
    case vae, tiny, latent
}
