import Foundation
import Kernels
import Models
import Testing

/// The small distilled U-Nets' whole pipelines against diffusers' StableDiffusionPipeline on the
/// tiny models of Tests/Fixtures/make_small_unet_pipeline_fixtures.py: SDXS (a tiny VAE as its VAE,
/// text-only attention at the top level, no mid block) and BK-SDM (one ResNet per level, no mid
/// block). Bar as for SD: PSNR ≥ 45 dB.
@Suite struct SmallUNetPipelineTests {
    struct Case: Decodable {
        let name: String, model: String, spacing: String, steps: Int, cfg: Float, seed: UInt64
    }
    struct Cases: Decodable { let prompt: String; let cases: [Case] }

    static let cases = try! JSONDecoder().decode(
        Cases.self, from: Data(contentsOf: FixturePaths.url("pipeline-small/expected/cases.json")))

    static func model(_ name: String) throws -> DiffusionModel {
        try DiffusionModel.load(path: FixturePaths.url("pipeline-small/\(name)"))
    }

    @Test(arguments: cases.cases.map(\.name))
    func imageMatchesDiffusers(name: String) throws {
        let c = Self.cases.cases.first { $0.name == name }!
        var model = try Self.model(c.model)
        let spacing = try #require(TimestepSpacing(rawValue: c.spacing))
        model.schedulerConfig.timestepSpacing = spacing
        let pipeline = Pipeline(model: model)
        var request = GenerationRequest(prompt: Self.cases.prompt)
        request.seed = c.seed
        request.steps = c.steps
        request.guidanceScale = c.cfg
        request.width = 64
        request.height = 64
        request.decoder = model.defaults.decoder
        let expected = try SafetensorsFile(url: FixturePaths.url("pipeline-small/expected/\(name).safetensors"))
        let psnr = PipelineTests.psnr(try pipeline.generate(request).image, try expected.tensor("image"))
        #expect(psnr >= 45, "\(name): PSNR \(psnr) dB")
    }

    /// SDXS's vae/ is an AutoencoderTiny: it is the model's decoder, the default one, and the full
    /// VAE's jobs are refused by name.
    @Test func aTinyVAEIsTheDecoderOfAModelThatShipsOnlyIt() throws {
        let model = try Self.model("tiny-sdxs")
        #expect(model.vae == nil && model.tinyDecoder != nil && model.vaeScaleFactor == 8)
        #expect(model.defaults.decoder == .tiny)
        #expect { _ = try model.decoder(.vae) } throws: { "\($0)".contains("--decoder tiny") }
        #expect(try Self.model("tiny-bksdm").defaults.decoder == .vae)
    }

    /// SDXS's release has its full VAE beside the tiny one (`vae_large/`): `--decoder vae` uses it,
    /// but the default stays the tiny `vae/`, which diffusers decodes with.
    @Test func aFullVAEBesideTheTinyOneIsThereButNotTheDefault() throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("sdxs-large-\(UUID())")
        try FileManager.default.copyItem(at: FixturePaths.url("pipeline-small/tiny-sdxs"), to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.copyItem(at: FixturePaths.url("pipeline-small/tiny-bksdm/vae"),
                                         to: copy.appendingPathComponent("vae_large"))
        let model = try DiffusionModel.load(path: copy)
        #expect(model.vae != nil && model.defaults.decoder == .tiny)
        #expect(try model.decoder(.vae) is AutoencoderKL)
    }
}
