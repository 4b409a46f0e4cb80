import Foundation
import Kernels
@testable import Models
import Testing

/// Prompt syntax and long prompts against AUTOMATIC1111's own code: Tests/Fixtures/prompt-weighting,
/// made by Tests/Fixtures/make_prompt_weighting_fixtures.py from A1111's prompt_parser.py and
/// sd_hijack_clip.py. The layout and encoding cases need CLIP's real vocabulary in
/// ../shared/clip-tokenizer and are skipped without it; the parser cases need nothing.
@Suite struct PromptWeightingTests {
    static let folder = FixturePaths.url("prompt-weighting")
    static let clipVocabulary: URL? = {
        let url = FixturePaths.packageRoot.appendingPathComponent("../shared/clip-tokenizer").standardizedFileURL
        let present = FileManager.default.fileExists(atPath: url.appendingPathComponent("vocab.json").path)
        if !present { print("CLIP vocabulary not found at \(url.path): skipping the prompt layout parity tests") }
        return present ? url : nil
    }()

    struct EncodingCase: Decodable {
        let name: String, prompt: String, tokenizer: String
        let chunks: [[Int32]]
        let multipliers: [[Double]]
    }
    static let encodingCases: [EncodingCase] = {
        struct File: Decodable { let cases: [EncodingCase] }
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: folder.appendingPathComponent("cases.json"))).cases
    }()

    /// The real CLIP vocabulary with the SD 1.x or SD 2.x tokenizer configuration (`sd1`, `sd2`).
    static func tokenizer(_ config: String) throws -> CLIPTokenizer {
        let vocabulary = try #require(clipVocabulary)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-tokenizer-\(config)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for file in ["vocab.json", "merges.txt"] {
            try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent(file),
                                                       withDestinationURL: vocabulary.appendingPathComponent(file))
        }
        for file in ["tokenizer_config.json", "special_tokens_map.json"] {
            try FileManager.default.copyItem(at: FixturePaths.url("tokenizer/configs/\(config)/\(file)"),
                                             to: folder.appendingPathComponent(file))
        }
        return try CLIPTokenizer(folder: folder)
    }

    /// A pipeline whose tokenizer is the real CLIP one and whose text encoder is the fixture's; the
    /// rest is the tiny pipeline fixture's (never run here).
    static func pipeline(_ config: String) throws -> Pipeline {
        let tiny = try PipelineTests.model.get()
        let encoderFolder = folder.appendingPathComponent("text_encoder")
        return Pipeline(model: try DiffusionModel(
            name: "prompt-weighting", tokenizer: try tokenizer(config),
            textEncoderWeights: Weights(try ShardedStore(folder: encoderFolder), precision: .fp32),
            textEncoderConfig: try CLIPTextConfig(contentsOf: encoderFolder.appendingPathComponent("config.json")),
            unetWeights: tiny.unetWeights, unetConfig: tiny.unetConfig,
            vae: tiny.vae, tinyDecoder: nil, latentPreview: tiny.latentPreview, schedulerConfig: tiny.schedulerConfig))
    }

    /// This pipeline's parts do not belong together (its U-Net attends to the tiny pipeline's
    /// 32-wide text): it encodes, but a render is refused before any work.
    @Test func aRenderWithTextOfTheWrongWidthIsRefused() throws {
        #expect { try Self.pipeline("sd1").validate(GenerationRequest(prompt: "a fox")) }
            throws: { "\($0)".contains("32-wide text states but the text encoder gives 16") }
    }

    // MARK: - The parser

    @Test func parserMatchesA1111() throws {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.folder.appendingPathComponent("parse.json")))
        let file = try #require(object as? [String: Any])
        let cases = try #require(file["cases"] as? [[Any]])
        #expect(cases.count > 70)
        for row in cases {
            let prompt = try #require(row[0] as? String)
            let expected = try #require(row[1] as? [[Any]]).map { pair in
                (pair[0] as! String, Double(pair[1] as! String)!)
            }
            let parsed = try PromptAttention.parse(prompt).map { fragment -> (String, Double) in
                switch fragment {
                case let .text(text, weight): return (text, weight)
                case .chunkBreak: return ("BREAK", -1)
                }
            }
            // Exact: the weights are the same Doubles multiplied in the same order.
            #expect(parsed.map(\.0) == expected.map(\.0) && parsed.map(\.1) == expected.map(\.1),
                    "\(prompt.debugDescription): \(parsed) ≠ A1111's \(expected)")
        }
        for prompt in try #require(file["invalid"] as? [String]) {
            #expect(throws: PromptAttention.InvalidWeight.self, "\(prompt.debugDescription)") {
                try PromptAttention.parse(prompt)
            }
        }
    }

    @Test func parserExamples() throws {
        #expect(try PromptAttention.parse("a (red) apple")
            == [.text("a ", weight: 1), .text("red", weight: 1.1), .text(" apple", weight: 1)])
        #expect(try PromptAttention.parse("((red))") == [.text("red", weight: 1.1 * 1.1)])
        #expect(try PromptAttention.parse("(red:1.3) [dull]")
            == [.text("red", weight: 1.3), .text(" ", weight: 1), .text("dull", weight: 1 / 1.1)])
        #expect(try PromptAttention.parse("\\(not weighted\\)") == [.text("(not weighted)", weight: 1)])
        #expect(try PromptAttention.parse("a BREAK b") == [.text("a", weight: 1), .chunkBreak, .text("b", weight: 1)])
        #expect(try PromptAttention.parse("") == [.text("", weight: 1)])
        #expect(throws: PromptAttention.InvalidWeight(weight: "1.2.3")) { try PromptAttention.parse("(a:1.2.3)") }
    }

    // MARK: - Chunk layout and encoding

    static var encodingCaseNames: [String] { encodingCases.map(\.name) }

    @Test(arguments: encodingCaseNames)
    func chunksMatchA1111(name: String) throws {
        guard Self.clipVocabulary != nil else { return }
        let c = Self.encodingCases.first { $0.name == name }!
        let layout = try PromptChunks(c.prompt, tokenizer: try Self.tokenizer(c.tokenizer))
        #expect(layout.chunks.map(\.ids) == c.chunks, "\(name): ids")
        #expect(layout.chunks.map(\.weights) == c.multipliers.map { $0.map { Float($0) } }, "\(name): weights")
    }

    @Test(arguments: encodingCaseNames)
    func encodingMatchesA1111(name: String) throws {
        guard Self.clipVocabulary != nil else { return }
        let c = Self.encodingCases.first { $0.name == name }!
        let expected = try SafetensorsFile(url: Self.folder.appendingPathComponent("expected.safetensors")).tensor(name)
        let encoding = try Self.pipeline(c.tokenizer).encode(c.prompt)
        #expect(encoding.states.shape == expected.shape)
        #expect(encoding.chunkCount == c.chunks.count)
        let difference = maxAbsDifference(encoding.states, expected)
        #expect(difference <= 1e-5, "\(name): max |Δ| \(difference)")
        print("\(name): \(encoding.chunkCount) chunk(s), max |Δ| \(difference) against A1111")
    }

    /// A prompt without syntax that fits one chunk is encoded exactly as before chunking existed:
    /// the tokenizer's 77 ids through the text encoder, untouched.
    @Test func plainPromptIsTheUnweightedEncodingBitForBit() throws {
        guard Self.clipVocabulary != nil else { return }
        for config in ["sd1", "sd2"] {
            let pipeline = try Self.pipeline(config)
            let textEncoder = try #require(pipeline.model.textEncoder)
            for prompt in ["a red apple on a wooden table", "", "a photo, of a cat: sitting"] {
                let direct = textEncoder([pipeline.model.tokenizer.encode(prompt).ids])
                #expect(try pipeline.encode(prompt).states == direct.lastHiddenState, "\(config): \(prompt)")
            }
        }
    }

    @Test func commaBackOffMovesTheLastPhraseToTheNextChunk() throws {
        guard Self.clipVocabulary != nil else { return }
        let tokenizer = try Self.tokenizer("sd1")
        // 70 single-token words, a comma, then 10 more: the chunk fills 4 tokens into the phrase
        // after the comma, so those 4 move on and the first chunk ends at the comma, padded.
        let prompt = Array(repeating: "cat", count: 70).joined(separator: " ") + ", "
            + Array(repeating: "dog", count: 10).joined(separator: " ")
        let layout = try PromptChunks(prompt, tokenizer: tokenizer)
        #expect(layout.chunks.count == 2)
        let comma = try #require(tokenizer.commaID)
        #expect(layout.chunks[0].ids[71] == comma)
        #expect(layout.chunks[0].ids[72...].allSatisfy { $0 == tokenizer.eosID })
        #expect(layout.chunks[1].ids[1...10].allSatisfy { $0 == tokenizer.tokens("dog")[0] })
        #expect(layout.tokenCount == 81)
    }

    @Test func tooManyChunksAreRefusedNotCut() throws {
        guard Self.clipVocabulary != nil else { return }
        let pipeline = try Self.pipeline("sd1")
        let prompt = Array(repeating: "cat BREAK", count: PromptChunks.maximumChunks + 1).joined(separator: " ")
        #expect(throws: GenerationError.self) { try pipeline.encode(prompt) }
        var request = GenerationRequest(prompt: "cat")
        request.negativePrompt = prompt
        request.guidanceScale = 7
        do {
            try pipeline.validate(request)
            Issue.record("a negative prompt of \(PromptChunks.maximumChunks + 1) chunks passed validation")
        } catch let error as GenerationError {
            #expect(error.field == "negative")
            #expect(error.description.contains("\(PromptChunks.maximumChunks + 1) chunks"))
        }
    }
}

/// Long prompts through the U-Net: cross-attention over any number of 77-token chunks.
@Suite struct LongPromptUNetTests {
    /// Keys and values repeated k times leave every attention output unchanged (each softmax weight
    /// is split k ways), so a context of one chunk and the same chunk three times over must give
    /// the same prediction: the U-Net reads all 231 states, with no 77-token assumption.
    @Test func unetReadsAContextOfThreeChunks() throws {
        let model = try PipelineTests.model.get()
        let unet = try #require(model.unet)
        var generator = TorchGenerator(seed: 3)
        let sample = generator.randn([1, unet.config.inChannels, 8, 8])
        let chunk = generator.randn([1, 77, unet.config.crossAttentionDim])
        let threeChunks = Tensor(shape: [1, 231, unet.config.crossAttentionDim], data: chunk.data + chunk.data + chunk.data)
        let one = try unet(sample, timestep: 500, context: chunk)
        let three = try unet(sample, timestep: 500, context: threeChunks)
        #expect(three.shape == one.shape)
        #expect(maxAbsDifference(one, three) <= 1e-4 * max(1, one.maxAbs))
    }

    /// A negative prompt with fewer chunks than the prompt: each runs through the U-Net on its own
    /// states (A1111's default), nothing padded. Checked against the same negative written twice
    /// across a BREAK, which has the prompt's chunk count (so the two share one batched U-Net call)
    /// and, by the property above, the same attention outputs.
    @Test func guidanceWithPromptsOfDifferentLengths() throws {
        let pipeline = Pipeline(model: try PipelineTests.model.get())
        var request = GenerationRequest(prompt: "a red apple BREAK on a table")
        request.negativePrompt = "blurry"
        request.guidanceScale = 5
        request.steps = 2
        request.width = 64
        request.height = 64
        request.decoder = .latent
        #expect(try pipeline.encode(request.prompt).chunkCount == 2)
        let separate = try pipeline.generate(request)
        request.negativePrompt = "blurry BREAK blurry"
        let batched = try pipeline.generate(request)
        #expect(maxAbsDifference(separate.latents, batched.latents) <= 1e-4 * max(1, batched.latents.maxAbs))
        request.negativePrompt = "sharp"
        let other = try pipeline.generate(request)
        #expect(maxAbsDifference(separate.latents, other.latents) > 1e-3, "the negative prompt must matter")
    }
}
