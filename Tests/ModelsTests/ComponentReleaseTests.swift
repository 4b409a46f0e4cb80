import Foundation
import Kernels
import Models
import Testing

/// A batch frees the text encoder once every prompt is encoded, and its last render frees the
/// U-Net before decoding: the pictures must be exactly those of a pipeline that keeps everything.
@Suite struct ComponentReleaseTests {
    static let model = PipelineTests.model

    static func request(_ prompt: String, negative: String = "", seed: UInt64) -> GenerationRequest {
        var request = GenerationRequest(prompt: prompt)
        request.negativePrompt = negative
        request.seed = seed
        request.steps = 2
        request.width = 64
        request.height = 64
        return request
    }

    @Test func aBatchRendersEveryPromptAfterReleasingTheTextEncoderAndTheUNet() throws {
        // Guidance on (the default scale): negatives are encoded up front too.
        let requests = [Self.request("a red apple", negative: "blurry", seed: 1),
                        Self.request("a blue pear", seed: 2),
                        Self.request("a red apple", negative: "blurry", seed: 3)]
        let keeping = Pipeline(model: try Self.model.get())
        let releasing = Pipeline(model: try Self.model.get())
        #expect(try releasing.encodeAllThenReleaseTextEncoder(for: requests))
        #expect(releasing.model.textEncoder == nil)
        for (index, request) in requests.enumerated() {
            let last = index == requests.count - 1
            let released = try releasing.generate(request, releasingUNetBeforeDecode: last)
            #expect(released.image == (try keeping.generate(request)).image, "request \(index)")
            #expect((releasing.model.unet == nil) == last)
        }
        #expect(keeping.model.textEncoder != nil && keeping.model.unet != nil)
    }

    @Test func whatWasReleasedIsNotUsedAgain() throws {
        let pipeline = Pipeline(model: try Self.model.get())
        try pipeline.encodeAllThenReleaseTextEncoder(for: [Self.request("apple", seed: 1)])
        #expect { try pipeline.generate(Self.request("pear", seed: 1)) } throws: {
            "\($0)" == "the text encoder was released before this prompt was encoded"
        }
        _ = try pipeline.generate(Self.request("apple", seed: 1), releasingUNetBeforeDecode: true)
        #expect { try pipeline.generate(Self.request("apple", seed: 1)) } throws: {
            "\($0)" == "the U-Net was released; nothing more can be rendered"
        }
    }

    @Test func tooManyDifferentPromptsKeepTheTextEncoder() throws {
        let pipeline = Pipeline(model: try Self.model.get())
        let requests = (0...Pipeline.keptEncodingLimit).map { Self.request("prompt \($0)", seed: 1) }
        #expect(try !pipeline.encodeAllThenReleaseTextEncoder(for: requests))
        #expect(pipeline.model.textEncoder != nil)
        _ = try pipeline.generate(Self.request("anything else", seed: 1))
    }
}
