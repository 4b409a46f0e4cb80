/// Everything that determines one picture. The same request on the same model gives the same
/// pixels on any run and thread count.
public struct GenerationRequest: Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String = ""
    public var seed: UInt64 = 0
    public var steps: Int = 20
    /// Classifier-free guidance scale; ≤ 1 turns guidance off (one U-Net call per step).
    public var guidanceScale: Float = 7.5
    public var width: Int = 512
    public var height: Int = 512
    public var sampler: SamplerKind = .euler
    public var decoder: DecoderKind = .vae

    public init(prompt: String) { self.prompt = prompt }
}

/// How latents become pixels: the full VAE, the tiny TAESD decoder, or the per-pixel linear map.
public enum DecoderKind: String, Sendable, CaseIterable {
    case vae, tiny, latent
}
