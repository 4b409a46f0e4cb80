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
    struct ImageToImageCase: Decodable {
        let name: String, steps: Int, strength: Double, cfg: Float, negative: String, seed: UInt64
        let width: Int, height: Int
    }
    struct Cases: Decodable { let prompt: String; let cases: [Case]; let img2img: [ImageToImageCase] }

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

    /// Image to image on SDXL: StableDiffusionXLImg2ImgPipeline's start, with the picture's size
    /// in the size ids.
    @Test(arguments: cases.img2img.map(\.name))
    func imageToImageMatchesDiffusers(name: String) throws {
        let c = Self.cases.img2img.first { $0.name == name }!
        let expected = try SafetensorsFile(url: FixturePaths.url("pipeline-sdxl/expected/\(name).safetensors"))
        let pixels = try expected.tensor("pixels")
        var request = GenerationRequest(prompt: Self.cases.prompt)
        request.negativePrompt = c.negative
        request.seed = c.seed
        request.steps = c.steps
        request.guidanceScale = c.cfg
        request.width = c.width
        request.height = c.height
        request.initImage = InitImage(name: name, width: c.width, height: c.height) { _, _ in pixels }
        request.strength = c.strength
        let result = try Pipeline(model: try Self.model.get()).generate(request)
        let psnr = PipelineTests.psnr(result.image, try expected.tensor("image"))
        #expect(psnr >= 40, "\(name): PSNR \(psnr) dB")
    }

    /// A single SDXL file finds its second tokenizer beside the first; this tiny one's widths do
    /// not split into the 64-wide heads a single file implies (its components are held to the
    /// folder's in SingleFileTests), which is an error naming the component, not a crash.
    @Test func aSingleFileNeedsBothTokenizersAndHeadsThatFit() throws {
        let folder = FixturePaths.url("pipeline-sdxl/tiny-sdxl")
        let file = FixturePaths.url("single-file/sdxl-tiny.safetensors")
        #expect { _ = try DiffusionModel.load(path: file, tokenizer: folder.appendingPathComponent("tokenizer")) }
            throws: { "\($0)".contains("width 32 does not split into 0 attention heads") }
        let lone = FileManager.default.temporaryDirectory.appendingPathComponent("sdxl-tokenizer-\(UUID())")
        try FileManager.default.copyItem(at: folder.appendingPathComponent("tokenizer"), to: lone)
        defer { try? FileManager.default.removeItem(at: lone) }
        #expect { _ = try DiffusionModel.load(path: file, tokenizer: lone) } throws: { "\($0)".contains("needs two tokenizers") }
    }

    /// Without an imagine.json, SDXL guides at 5 (StableDiffusionXLPipeline's default), and a
    /// Turbo folder (ancestral Euler on trailing timesteps) renders one step without guidance.
    @Test func defaultsFollowTheReleasedConfigs() throws {
        var model = try Self.model.get()
        #expect(model.defaults.guidanceScale == 5 && model.defaults.steps == 20 && model.defaults.size == 64)
        model.schedulerConfig.className = "EulerAncestralDiscreteScheduler"
        model.schedulerConfig.timestepSpacing = .trailing
        #expect(model.defaults.steps == 1 && model.defaults.guidanceScale == 0 && model.defaults.sampler == .eulerAncestral)
        model.recommended.steps = 2
        #expect(model.defaults.steps == 2 && model.defaults.guidanceScale == 0)
    }

    /// An SDXL U-Net without its second text encoder is refused at load.
    @Test func mismatchedEncodersAreRefused() throws {
        let folder = FixturePaths.url("pipeline-sdxl/tiny-sdxl")
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("sdxl-no-te2-\(UUID())")
        try FileManager.default.copyItem(at: folder, to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.removeItem(at: copy.appendingPathComponent("text_encoder_2"))
        #expect { _ = try DiffusionModel.load(path: copy) } throws: { "\($0)".contains("needs a second text encoder") }
    }
}
