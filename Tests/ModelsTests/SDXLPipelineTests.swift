import Foundation
import Kernels
import Models
import Testing

/// The SDXL pipeline (two text encoders, pooled text and size conditioning, zeros for an empty
/// negative) against diffusers' StableDiffusionXLPipeline on the tiny model of
/// Tests/Fixtures/make_sdxl_pipeline_fixtures.py. Bar as for SD: PSNR ≥ 45 dB.
@Suite struct SDXLPipelineTests {
    struct Case: Decodable {
        let name: String, sampler: String, spacing: String, steps: Int, cfg: Float, negative: String, seed: UInt64
        let width: Int, height: Int
    }
    struct Cases: Decodable { let prompt: String; let cases: [Case] }

    static let model = Result { try DiffusionModel.load(path: FixturePaths.url("pipeline-sdxl/tiny-sdxl")) }
    static let cases = try! JSONDecoder().decode(
        Cases.self, from: Data(contentsOf: FixturePaths.url("pipeline-sdxl/expected/cases.json")))

    @Test(arguments: cases.cases.map(\.name))
    func imageMatchesDiffusers(name: String) throws {
        let c = Self.cases.cases.first { $0.name == name }!
        var model = try Self.model.get()
        let spacing = try #require(TimestepSpacing(rawValue: c.spacing))
        model.schedulerConfig.timestepSpacing = spacing
        let pipeline = Pipeline(model: model)
        var request = GenerationRequest(prompt: Self.cases.prompt)
        request.negativePrompt = c.negative
        request.seed = c.seed
        request.steps = c.steps
        request.guidanceScale = c.cfg
        request.width = c.width
        request.height = c.height
        request.sampler = try #require(SamplerKind(rawValue: c.sampler))
        let expected = try SafetensorsFile(url: FixturePaths.url("pipeline-sdxl/expected/\(name).safetensors"))
        let result = try pipeline.generate(request)
        let psnr = PipelineTests.psnr(result.image, try expected.tensor("image"))
        #expect(psnr >= 45, "\(name): PSNR \(psnr) dB")
    }

    @Test func theModelIsReadAsSDXL() throws {
        let model = try Self.model.get()
        #expect(model.textEncoder2 != nil && model.tokenizer2?.padID == 0)
        #expect(model.zeroEmptyNegative)
        #expect(model.unetConfig.textTimeEmbedding?.pooledWidth == 24)
        #expect(model.vae?.config.scalingFactor == 0.13025)
    }

    /// A U-Net whose context is not the two encoders' widths side by side is refused at load.
    @Test func mismatchedEncodersAreRefused() throws {
        let folder = FixturePaths.url("pipeline-sdxl/tiny-sdxl")
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("sdxl-no-te2-\(UUID())")
        try FileManager.default.copyItem(at: folder, to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.removeItem(at: copy.appendingPathComponent("text_encoder_2"))
        #expect { _ = try DiffusionModel.load(path: copy) } throws: { "\($0)".contains("80-wide text states") }
    }
}
