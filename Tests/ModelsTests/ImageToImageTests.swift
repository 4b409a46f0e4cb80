import Foundation
import Kernels
import Models
import Testing

/// Image to image against diffusers' StableDiffusionImg2ImgPipeline on the tiny model, with the
/// cases of Tests/Fixtures/make_img2img_fixtures.py: every sampler, strengths 0.3…1, guidance on
/// and off, SD-Turbo's trailing 1–2 steps. The init image arrives as the pipeline's preprocessed
/// pixels (reading and resizing files is ImageIO's, tested against Pillow there and end to end in
/// the CLI tests). Bar: final image PSNR ≥ 40 dB.
@Suite struct ImageToImageTests {
    struct Case: Decodable {
        let name: String, image: String, sampler: String, steps: Int, strength: Double, cfg: Float
        let negative: String, seed: UInt64
        let spacing: String?
    }
    struct Cases: Decodable { let prompt: String; let cases: [Case] }

    static let cases = try! JSONDecoder().decode(
        Cases.self, from: Data(contentsOf: FixturePaths.url("img2img/expected/cases.json")))

    /// An init image that is the fixture's preprocessed pixels, whatever size it is asked for.
    static func initImage(_ pixels: Tensor, name: String) -> InitImage {
        InitImage(name: name, width: pixels.shape[3], height: pixels.shape[2]) { _, _ in pixels }
    }

    static func request(_ c: Case, pixels: Tensor) throws -> GenerationRequest {
        var request = GenerationRequest(prompt: cases.prompt)
        request.negativePrompt = c.negative
        request.seed = c.seed
        request.steps = c.steps
        request.guidanceScale = c.cfg
        request.width = pixels.shape[3]
        request.height = pixels.shape[2]
        request.sampler = try #require(SamplerKind(rawValue: c.sampler))
        request.initImage = initImage(pixels, name: c.image)
        request.strength = c.strength
        return request
    }

    static func pipeline(_ c: Case) throws -> Pipeline {
        var model = try PipelineTests.model.get()
        if let spacing = c.spacing {
            guard let parsed = TimestepSpacing(rawValue: spacing) else {
                throw GenerationError("fixture case \(c.name): unknown timestep spacing \(spacing)")
            }
            model.schedulerConfig.timestepSpacing = parsed
        }
        return Pipeline(model: model)
    }

    @Test(arguments: cases.cases.map(\.name))
    func imageMatchesDiffusers(name: String) throws {
        let c = Self.cases.cases.first { $0.name == name }!
        let expected = try SafetensorsFile(url: FixturePaths.url("img2img/expected/\(name).safetensors"))
        let request = try Self.request(c, pixels: try expected.tensor("pixels"))
        var steps: [Int] = []
        let result = try Self.pipeline(c).generate(request, onStep: { steps.append($0.step) })
        let run = min(Int(Double(c.steps) * c.strength), c.steps)
        #expect(steps == Array(1...run))
        let psnr = PipelineTests.psnr(result.image, try expected.tensor("image"))
        #expect(psnr >= 40, "\(name): PSNR \(psnr) dB")
    }

    /// diffusers' get_timesteps: the last int(steps · strength) timesteps run.
    @Test func strengthSelectsTheLastTimesteps() {
        #expect(Pipeline.imageToImageStart(steps: 10, strength: 0.7) == 3)  // 10 × 0.7 = 7.000000000000001
        #expect(Pipeline.imageToImageStart(steps: 4, strength: 0.75) == 1)
        #expect(Pipeline.imageToImageStart(steps: 1, strength: 1) == 0)
        #expect(Pipeline.imageToImageStart(steps: 3, strength: 0.3) == 3)  // nothing left: refused by validate
    }

    @Test func tooLittleStrengthForTheStepsIsRefused() throws {
        let c = Self.cases.cases[0]
        let pixels = try SafetensorsFile(url: FixturePaths.url("img2img/expected/\(c.name).safetensors")).tensor("pixels")
        var request = try Self.request(c, pixels: pixels)
        request.steps = 2
        request.strength = 0.4
        #expect { try Self.pipeline(c).validate(request) } throws: {
            ($0 as? GenerationError)?.field == "strength" && "\($0)".contains("steps × strength ≥ 1")
                && "\($0)".contains("int(2 × 0.4) = 0")
        }
        request.strength = 1.5
        #expect { try Self.pipeline(c).validate(request) } throws: { "\($0)" == "strength must be 0…1, got 1.5" }
    }

    /// The live session renders the same picture again and again: the encoder runs once per size,
    /// and a seed gives the same picture every time.
    @Test func theSameSeedGivesTheSamePictureAndEncodesOnce() throws {
        let c = Self.cases.cases[0]
        let pixels = try SafetensorsFile(url: FixturePaths.url("img2img/expected/\(c.name).safetensors")).tensor("pixels")
        final class Count: @unchecked Sendable { var calls = 0 }
        let count = Count()
        var request = try Self.request(c, pixels: pixels)
        request.initImage = InitImage(name: "counted", width: 64, height: 64) { _, _ in
            count.calls += 1
            return pixels
        }
        let pipeline = try Self.pipeline(c)
        let first = try pipeline.generate(request)
        let again = try pipeline.generate(request)
        request.seed += 1
        let otherSeed = try pipeline.generate(request)
        #expect(first.image == again.image)
        #expect(first.image != otherSeed.image)
        #expect(count.calls == 1)
    }
}
