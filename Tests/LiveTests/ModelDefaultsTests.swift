import Live
import Models
import Testing

/// `imagine generate` starts from `GenerationRequest(prompt:defaults:)` and `imagine live` from
/// `LiveSettings(defaults:)`; for one model both must ask for the same picture.
@Suite struct ModelDefaultsTests {
    @Test(arguments: [
        RecommendedSettings(),
        RecommendedSettings(steps: 4, cfg: 1.5, sampler: .lcm, decoder: .tiny, previewSteps: 2, previewDecoder: .vae),
        RecommendedSettings(steps: 1, cfg: 0),
    ])
    func generateAndLiveGetTheSameDefaults(recommended: RecommendedSettings) {
        for size in [512, 768] {
            let defaults = ModelDefaults(size: size, recommended: recommended, hasTinyDecoder: true)
            var generate = GenerationRequest(prompt: "a fox", defaults: defaults)
            generate.seed = 3
            let live = LiveSettings(defaults: defaults).request(prompt: "a fox", seed: 3, quality: .refine)
            #expect(live == generate, "\(recommended) at \(size)")
        }
    }

    @Test func withoutRecommendationsGuidanceIsDiffusersDefault() {
        let defaults = ModelDefaults(size: 512)
        #expect(defaults.guidanceScale == 7.5)
        #expect(GenerationRequest(prompt: "p", defaults: defaults).guidanceScale == 7.5)
        #expect(LiveSettings(defaults: defaults).guidanceScale == 7.5)
    }

    @Test func previewsFollowTheModel() {
        let large = ModelDefaults(size: 768, recommended: RecommendedSettings(), hasTinyDecoder: true)
        #expect(large.previewSize == 256 && large.previewDecoder == .tiny && large.previewSteps == 1)
        let small = ModelDefaults(size: 128, recommended: RecommendedSettings(previewSteps: 2, previewDecoder: .vae))
        #expect(small.previewSize == 128 && small.previewDecoder == .vae && small.previewSteps == 2)
        #expect(ModelDefaults(size: 512).previewDecoder == .latent)
    }
}
