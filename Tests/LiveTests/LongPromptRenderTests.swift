import Foundation
import Kernels
import Live
import Models
import Testing

/// `imagine live` renders through the same `Pipeline.generate` as `imagine generate`, so a long
/// prompt with A1111's syntax is read whole while typing too.
@Suite struct LongPromptRenderTests {
    static let tinyModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pipeline/tiny-sd")

    @Test func theLiveRendererReadsALongWeightedPromptWhole() throws {
        let renderer = PipelineRenderer(pipeline: Pipeline(model: try DiffusionModel.load(path: Self.tinyModel)))
        let head = "a lighthouse on a rocky cliff, (dramatic stormy sky:1.3), [crashing waves], oil painting"
        let long = head + ", " + Array(repeating: "((golden hour light)), seagulls in the distance", count: 12)
            .joined(separator: ", ")
        #expect(try renderer.pipeline.encode(long).chunkCount > 1)
        func render(_ prompt: String) throws -> Tensor {
            var request = GenerationRequest(prompt: prompt)
            request.width = 64
            request.height = 64
            request.steps = 2
            request.decoder = .latent
            return try renderer.render(RenderJob(id: 1, kind: .preview, request: request, requestedAt: 0),
                                       isCancelled: { false }, onStep: { _, _ in }).pixels
        }
        let whole = try render(long)
        #expect(whole.isFinite)
        #expect(whole != (try render(head)), "the words past the first chunk must reach the picture")
    }
}
