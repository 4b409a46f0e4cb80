/// What a request to one model gets where the user gives nothing: the one answer `imagine
/// generate` and `imagine live` both use.
///
/// Each value is the model folder's recommendation (`imagine.json`) when it makes one, else what
/// its released configs imply (`DiffusionModel.configRecommendation`: Turbo models 1 step without
/// guidance, SDXL guidance 5). Otherwise: the U-Net's native size; 20 steps with Euler and the full
/// VAE (the tiny one for a model whose own VAE is tiny); guidance 7.5, diffusers'
/// `StableDiffusionPipeline` default, so a downloaded folder renders as diffusers renders it;
/// previews of 1 step at most 256² through TAESD when the model has one, else the latent colour
/// sketch.
public struct ModelDefaults: Sendable, Equatable {
    /// Width and height: the U-Net's `sample_size` in pixels (512 for SD 1.x, 768 for SD 2.x v-models).
    public var size: Int
    public var steps: Int
    /// Classifier-free guidance scale; ≤ 1 turns guidance off.
    public var guidanceScale: Float
    public var sampler: SamplerKind
    public var decoder: DecoderKind
    /// `imagine live`'s per-keystroke preview.
    public var previewSteps: Int
    public var previewSize: Int
    public var previewDecoder: DecoderKind

    /// The defaults of a model whose U-Net draws `size`² pictures, given what its folder recommends.
    /// `decodesWithTinyVAE`: a model whose own VAE is a tiny one (SDXS) decodes with it.
    public init(size: Int, recommended: RecommendedSettings = RecommendedSettings(), hasTinyDecoder: Bool = false,
                decodesWithTinyVAE: Bool = false) {
        self.size = size
        steps = recommended.steps ?? 20
        guidanceScale = recommended.cfg ?? 7.5
        sampler = recommended.sampler ?? .euler
        decoder = recommended.decoder ?? (decodesWithTinyVAE ? .tiny : .vae)
        previewSteps = recommended.previewSteps ?? 1
        previewSize = min(size, 256)
        previewDecoder = recommended.previewDecoder ?? (hasTinyDecoder ? .tiny : .latent)
    }

    /// An SD 1.x-size model that recommends nothing.
    public static let standard = ModelDefaults(size: 512)
}

extension DiffusionModel {
    /// What a request to this model gets where the user gives nothing: `imagine.json`'s
    /// recommendations, then what the model's own configs imply (`configRecommendation`).
    public var defaults: ModelDefaults {
        ModelDefaults(size: unetConfig.sampleSize * vaeScaleFactor, recommended: recommended.filling(from: configRecommendation),
                      hasTinyDecoder: tinyDecoder != nil, decodesWithTinyVAE: decodesWithTinyVAE)
    }

    /// What a released folder's configs say about sampling it, without an `imagine.json`:
    /// SD-Turbo and SDXL-Turbo ship an ancestral Euler scheduler on trailing timesteps, made for
    /// one step without guidance (their model cards' settings); SDXL's pipeline guides at 5, not
    /// SD's 7.5.
    var configRecommendation: RecommendedSettings {
        var settings = RecommendedSettings()
        if schedulerConfig.className == "EulerAncestralDiscreteScheduler" && schedulerConfig.timestepSpacing == .trailing {
            settings.steps = 1
            settings.cfg = 0
            settings.sampler = .eulerAncestral
        } else if unetConfig.textTimeEmbedding != nil {
            settings.cfg = 5
        }
        return settings
    }
}
