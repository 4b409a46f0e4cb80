import Foundation

/// The settings a model folder recommends in an optional `imagine.json`, used where the user
/// gives none (`ModelDefaults` fills in the rest): `{"steps": 20, "cfg": 2, "preview_steps": 2,
/// "preview_decoder": "vae"}`. A one-step model such as SD-Turbo would say `{"steps": 1, "cfg": 0}`,
/// an LCM-distilled one `{"steps": 4, "cfg": 1.5, "sampler": "lcm"}`. diffusers ignores the file;
/// single-file checkpoints have none. Every key is optional.
public struct RecommendedSettings: Sendable, Equatable {
    /// Sampler steps of a full-quality render.
    public var steps: Int?
    /// Classifier-free guidance scale.
    public var cfg: Float?
    public var sampler: SamplerKind?
    /// The decoder of a full-quality render.
    public var decoder: DecoderKind?
    /// Sampler steps of `imagine live`'s per-keystroke preview (1 or 2).
    public var previewSteps: Int?
    /// The decoder of `imagine live`'s preview: a small model's own VAE can be cheap enough.
    public var previewDecoder: DecoderKind?

    public init(steps: Int? = nil, cfg: Float? = nil, sampler: SamplerKind? = nil, decoder: DecoderKind? = nil,
                previewSteps: Int? = nil, previewDecoder: DecoderKind? = nil) {
        self.steps = steps
        self.cfg = cfg
        self.sampler = sampler
        self.decoder = decoder
        self.previewSteps = previewSteps
        self.previewDecoder = previewDecoder
    }

    /// These settings, with those left unset taken from `other`.
    public func filling(from other: RecommendedSettings) -> RecommendedSettings {
        RecommendedSettings(steps: steps ?? other.steps, cfg: cfg ?? other.cfg, sampler: sampler ?? other.sampler,
                            decoder: decoder ?? other.decoder, previewSteps: previewSteps ?? other.previewSteps,
                            previewDecoder: previewDecoder ?? other.previewDecoder)
    }

    /// `folder/imagine.json`, or no recommendations when it is absent.
    public static func load(folder: URL) throws -> RecommendedSettings {
        let url = folder.appendingPathComponent("imagine.json")
        let settings: RecommendedSettings
        do {
            guard let json = try ConfigJSON.ifPresent(url) else { return RecommendedSettings() }
            settings = RecommendedSettings(
                steps: try json.int("steps"), cfg: try json.float("cfg"), sampler: try json.choice("sampler"),
                decoder: try json.choice("decoder"), previewSteps: try json.int("preview_steps"), previewDecoder: try json.choice("preview_decoder"))
        } catch let error as ConfigError {
            throw ModelLoadError(
                path: url.path,
                reason: "not a settings object (steps, cfg, sampler, decoder, preview_steps, preview_decoder): \(error.reason)")
        }
        if let steps = settings.steps, steps < 1 {
            throw ModelLoadError(path: url.path, reason: "steps must be at least 1, got \(steps)")
        }
        if let previewSteps = settings.previewSteps, !(1...2).contains(previewSteps) {
            throw ModelLoadError(path: url.path, reason: "preview_steps must be 1 or 2, got \(previewSteps)")
        }
        return settings
    }
}
