import Foundation
import Kernels
import Models
import Testing

/// The whole pipeline against diffusers' StableDiffusionPipeline on the tiny model of
/// Tests/Fixtures/make_pipeline_fixtures.py. Bar: final image PSNR ≥ 45 dB, beyond what 8-bit
/// pixels show.
@Suite struct PipelineTests {
    struct Case: Decodable {
        let name: String, sampler: String, steps: Int, cfg: Float, negative: String, seed: UInt64, inject: Bool
    }
    struct Cases: Decodable { let prompt: String; let cases: [Case] }

    static let model = Result { try DiffusionModel.load(path: FixturePaths.url("pipeline/tiny-sd")) }
    static let cases = try! JSONDecoder().decode(
        Cases.self, from: Data(contentsOf: FixturePaths.url("pipeline/expected/cases.json")))

    /// PSNR over [0, 1] pixels after the clamp diffusers' postprocess applies.
    static func psnr(_ image: Tensor, _ reference: Tensor) -> Double {
        var squared = 0.0
        for (a, b) in zip(image.data, reference.data) {
            let x = Double(min(max(a, -1), 1) + 1) / 2, y = Double(min(max(b, -1), 1) + 1) / 2
            squared += (x - y) * (x - y)
        }
        let mse = squared / Double(image.count)
        return mse == 0 ? .infinity : 10 * log10(1 / mse)
    }

    @Test(arguments: cases.cases.map(\.name))
    func imageMatchesDiffusers(name: String) throws {
        let c = Self.cases.cases.first { $0.name == name }!
        let pipeline = Pipeline(model: try Self.model.get())
        var request = GenerationRequest(prompt: Self.cases.prompt)
        request.negativePrompt = c.negative
        request.seed = c.seed
        request.steps = c.steps
        request.guidanceScale = c.cfg
        request.width = 64
        request.height = 64
        request.sampler = try #require(SamplerKind(rawValue: c.sampler))
        let expected = try SafetensorsFile(url: FixturePaths.url("pipeline/expected/\(name).safetensors"))
        let noise = c.inject ? try expected.tensor("noise") : nil
        var steps: [Int] = []
        let result = try pipeline.generate(request, initialNoise: noise, onStep: { steps.append($0.step) })
        #expect(steps == Array(1...c.steps))
        let psnr = Self.psnr(result.image, try expected.tensor("image"))
        #expect(psnr >= 45, "\(name): PSNR \(psnr) dB")
    }

    @Test func cancellingAfterAStepStopsTheRender() throws {
        let pipeline = Pipeline(model: try Self.model.get())
        var request = GenerationRequest(prompt: "apple")
        request.width = 64
        request.height = 64
        request.steps = 5
        final class LastStep: @unchecked Sendable { var step = 0 }
        let last = LastStep()
        #expect(throws: CancellationError.self) {
            _ = try pipeline.generate(request, onStep: { last.step = $0.step }, isCancelled: { last.step >= 2 })
        }
        #expect(last.step == 2)
    }

    @Test func badSizesAreRefusedBeforeAnyWork() throws {
        let pipeline = Pipeline(model: try Self.model.get())
        var request = GenerationRequest(prompt: "apple")
        request.width = 60
        #expect { try pipeline.validate(request) } throws: { "\($0)" == "width must be a positive multiple of 8, got 60" }
    }

    @Test func anIncompleteFolderListsWhatIsMissing() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("incomplete-\(UUID())")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("unet"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("{}".utf8).write(to: folder.appendingPathComponent("model_index.json"))
        #expect { _ = try DiffusionModel.load(path: folder) } throws: {
            let text = "\($0)"
            return text.contains("text_encoder") && text.contains("vae") && text.contains("scheduler")
                && !text.contains("unet,")
        }
    }
}
