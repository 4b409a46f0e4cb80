import Foundation

/// The settings a model folder recommends in an optional `imagine.json`, used where the user
/// gives none: `{"steps": 20, "cfg": 2, "preview_steps": 2, "preview_decoder": "vae"}`. A one-step model such as SD-Turbo
/// would say `{"steps": 1, "cfg": 0}`. diffusers ignores the file; single-file checkpoints have
/// none. Every key is optional.
public struct RecommendedSettings: Sendable, Equatable, Decodable {
    /// Sampler steps of a full-quality render.
    public var steps: Int?
    /// Classifier-free guidance scale.
    public var cfg: Float?
    /// Sampler steps of `imagine live`'s per-keystroke preview (1 or 2).
    public var previewSteps: Int?
    /// The decoder of `imagine live`'s preview: a small model's own VAE can be cheap enough.
    public var previewDecoder: DecoderKind?

    public init(steps: Int? = nil, cfg: Float? = nil, previewSteps: Int? = nil, previewDecoder: DecoderKind? = nil) {
        self.steps = steps
        self.cfg = cfg
        self.previewSteps = previewSteps
        self.previewDecoder = previewDecoder
    }

    enum CodingKeys: String, CodingKey {
        case steps, cfg
        case previewSteps = "preview_steps"
        case previewDecoder = "preview_decoder"
    }

    /// `folder/imagine.json`, or no recommendations when it is absent.
    public static func load(folder: URL) throws -> RecommendedSettings {
        let url = folder.appendingPathComponent("imagine.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return RecommendedSettings() }
        let settings: RecommendedSettings
        do {
            settings = try JSONDecoder().decode(RecommendedSettings.self, from: Data(contentsOf: url))
        } catch {
            throw ModelLoadError(
                path: url.path, reason: "not a settings object (steps, cfg, preview_steps, preview_decoder): \(error)")
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
