import Foundation
import Kernels
import Live
import Models
import Testing

/// `imagine live --init-image`: every render restyles the picture; previews keep its shape within
/// the preview size and run --preview-steps of their steps; the pipeline encodes the picture once
/// per size, and a preview's noise follows the seed.
@Suite struct ImageToImageLiveTests {
    /// A 100×60 picture (a diagonal gradient) resampled by nearest neighbour to any size, counting
    /// how often it is asked for.
    final class Gradient: @unchecked Sendable {
        private let lock = NSLock()
        private var sizes: [[Int]] = []
        var requests: [[Int]] { lock.withLock { sizes } }

        lazy var image = InitImage(name: "gradient.png", width: 100, height: 60) { [self] width, height in
            lock.withLock { sizes.append([width, height]) }
            var data = [Float](repeating: 0, count: 3 * width * height)
            for c in 0..<3 {
                for y in 0..<height {
                    for x in 0..<width {
                        data[(c * height + y) * width + x] = Float(x + y * (c + 1)) / Float(width + 3 * height) * 2 - 1
                    }
                }
            }
            return Tensor(shape: [1, 3, height, width], data: data)
        }
    }

    static func settings(_ image: InitImage, strength: Double = 0.5) -> LiveSettings {
        var settings = LiveSettings(defaults: ModelDefaults(size: 64))
        settings.previewSteps = 1
        settings.previewSize = 48
        settings.refineSteps = 4
        settings.initImage = image
        settings.strength = strength
        return settings
    }

    @Test func previewsKeepThePicturesShapeAndRunThePreviewSteps() {
        let gradient = Gradient()
        let settings = Self.settings(gradient.image)
        let preview = settings.request(prompt: "a fox", seed: 3, quality: .preview)
        // 100×60 renders at 96×56; the preview fits that shape in 48², multiples of 8.
        #expect(preview.width == 48 && preview.height == 24)
        #expect(preview.initImage == gradient.image && preview.strength == 0.5)
        #expect(preview.steps == 2, "int(2 × 0.5) = 1 step runs, the one preview step")
        let save = settings.request(prompt: "a fox", seed: 3, quality: .save)
        #expect(save.width == 96 && save.height == 56 && save.steps == 4)

        var twoSteps = Self.settings(gradient.image, strength: 0.3)
        twoSteps.previewSteps = 2
        let request = twoSteps.request(prompt: "a fox", seed: 3, quality: .preview)
        #expect(Int(Double(request.steps) * 0.3) == 2 && Int(Double(request.steps - 1) * 0.3) < 2, "\(request.steps)")
    }

    @Test func thePictureIsEncodedOncePerSizeAndThePreviewFollowsTheSeed() throws {
        let model = try DiffusionModel.load(path: packageRoot.appendingPathComponent("Tests/Fixtures/pipeline/tiny-sd"))
        let renderer = PipelineRenderer(pipeline: Pipeline(model: model))
        let gradient = Gradient()
        var settings = Self.settings(gradient.image)
        settings.previewDecoder = .vae
        func render(_ prompt: String, seed: UInt64, _ kind: RenderJob.Kind) throws -> RenderedImage {
            let job = RenderJob(id: 1, kind: kind, request: settings.request(prompt: prompt, seed: seed, quality: kind),
                                requestedAt: 0)
            return try renderer.render(job, isCancelled: { false }, onStep: { _, _ in })
        }
        let first = try render("a", seed: 7, .preview)
        let typed = try render("a fox", seed: 7, .preview)
        let again = try render("a", seed: 7, .preview)
        let reseeded = try render("a", seed: 8, .preview)
        let saved = try render("a fox", seed: 7, .save)
        #expect(first.width == 48 && first.height == 24 && saved.width == 96 && saved.height == 56)
        #expect(first.pixels == again.pixels, "the same prompt and seed give the same preview")
        #expect(first.pixels != typed.pixels && first.pixels != reseeded.pixels)
        #expect(gradient.requests == [[48, 24], [96, 56]], "one encoding per size: \(gradient.requests)")
    }
}
