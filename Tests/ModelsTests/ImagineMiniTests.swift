import Foundation
import Kernels
import Models
import Testing

/// The embedded model (Weights/imagine-mini) through our pipeline against diffusers'
/// StableDiffusionPipeline on the same weights and injected noise (the fixture is written by
/// Weights/recipe/make_parity_fixture.py). Bar: PSNR ≥ 45 dB, beyond what 8-bit pixels show. The
/// bf16 path must stay invisible next to the same fp32 reference: it measured 52–56 dB; the bar is 40.
@Suite struct ImagineMiniTests {
    struct Case: Decodable {
        let prompt: String, negative: String, steps: Int, cfg: Float, seed: UInt64, sampler: String
        let width: Int, height: Int
    }

    @Test(arguments: Precision.allCases.filter { $0.unavailableReason == nil })
    func imageMatchesDiffusers(precision: Precision) throws {
        let folder = FixturePaths.url("imagine-mini")
        let c = try JSONDecoder().decode(Case.self, from: Data(contentsOf: folder.appendingPathComponent("case.json")))
        let model = try DiffusionModel.load(path: FixturePaths.packageRoot.appendingPathComponent("Weights/imagine-mini"),
                                            precision: precision)
        var request = GenerationRequest(prompt: c.prompt)
        request.negativePrompt = c.negative
        request.steps = c.steps
        request.guidanceScale = c.cfg
        request.seed = c.seed
        request.width = c.width
        request.height = c.height
        request.sampler = try #require(SamplerKind(rawValue: c.sampler))
        let expected = try SafetensorsFile(url: folder.appendingPathComponent("red-apple.safetensors"))
        let result = try Pipeline(model: model).generate(request, initialNoise: try expected.tensor("noise"))
        let psnr = PipelineTests.psnr(result.image, try expected.tensor("image"))
        #expect(psnr >= (precision == .fp32 ? 45 : 40), "\(precision): PSNR \(psnr) dB")
    }
}
