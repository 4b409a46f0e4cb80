import Foundation
import Kernels
import Models
import Testing

/// CLIPTextModel against transformers on the fixtures of Tests/Fixtures/make_clip_fixtures.py.
/// Tolerance: max |Δ| ≤ 1e-4 · max |reference| on every hidden state, room for fp32 sums taken in
/// another order than PyTorch's and far below what a wrong weight or mask would cost.
@Suite struct CLIPTextModelTests {
    struct Case {
        let model: CLIPTextModel
        let ids: [[Int32]]
        let expected: SafetensorsFile
    }

    static func load(_ name: String, weightsFile: String = "model.safetensors") throws -> Case {
        let folder = FixturePaths.url("clip/\(name)")
        let config = try CLIPTextConfig(contentsOf: folder.appendingPathComponent("config.json"))
        let weights = try SafetensorsFile(url: folder.appendingPathComponent(weightsFile))
        let model = try CLIPTextModel(Weights(weights), config: config)
        let inputs = try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("inputs.json"))) as! [String: Any]
        let ids = (inputs["ids"] as! [[Int]]).map { $0.map(Int32.init) }
        let expected = try SafetensorsFile(url: folder.appendingPathComponent("expected.safetensors"))
        return Case(model: model, ids: ids, expected: expected)
    }

    /// max |actual − reference| / max |reference|
    static func relativeError(_ actual: Tensor, _ reference: Tensor) -> Float {
        #expect(actual.shape == reference.shape)
        var worst: Float = 0
        for (a, r) in zip(actual.data, reference.data) { worst = max(worst, abs(a - r)) }
        return worst / reference.maxAbs
    }

    /// sdxl2-tiny is a CLIPTextModelWithProjection: its hidden states are the tower's (before the
    /// final LayerNorm, so hiddenStates[layers - 1] is SDXL's penultimate-layer context) and its
    /// text_embeds the projected pooled output.
    @Test(arguments: ["sd15-tiny", "sd21-tiny", "eos-id-tiny", "sdxl2-tiny"])
    func everyHiddenStateMatchesTransformers(name: String) throws {
        let c = try Self.load(name)
        let output = c.model(c.ids)
        #expect(output.hiddenStates.count == c.model.config.layers + 1)
        for (i, state) in output.hiddenStates.enumerated() {
            let error = Self.relativeError(state, try c.expected.tensor("hidden_state_\(i)"))
            #expect(error <= 1e-4, "\(name) hidden state \(i): relative error \(error)")
        }
        let last = Self.relativeError(output.lastHiddenState, try c.expected.tensor("last_hidden_state"))
        #expect(last <= 1e-4, "\(name) last hidden state: relative error \(last)")
        let pooled = Self.relativeError(output.pooled, try c.expected.tensor("pooled"))
        #expect(pooled <= 1e-4, "\(name) pooled: relative error \(pooled)")
        if c.expected.info("text_embeds") != nil {
            let textEmbeds = try #require(output.textEmbeds)
            let error = Self.relativeError(textEmbeds, try c.expected.tensor("text_embeds"))
            #expect(error <= 1e-4, "\(name) text_embeds: relative error \(error)")
        } else {
            #expect(output.textEmbeds == nil)
        }
    }

    // MARK: The projection (CLIPTextModelWithProjection)

    /// Writes `json` as a config.json in a fresh folder and reads it.
    static func config(_ json: String) throws -> CLIPTextConfig {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clip-config-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("config.json")
        try Data(json.utf8).write(to: url)
        return try CLIPTextConfig(contentsOf: url)
    }

    /// Every CLIP text config carries projection_dim (transformers writes 512 for a plain
    /// CLIPTextModel, as in sd21-tiny; SDXL's ViT-L says 768): only the class makes a projection.
    @Test func onlyACLIPTextModelWithProjectionConfigHasAProjection() throws {
        let fixtures = FixturePaths.url("clip")
        let projected = try CLIPTextConfig(contentsOf: fixtures.appendingPathComponent("sdxl2-tiny/config.json"))
        #expect(projected.projectionDim == 56)
        let plain = try CLIPTextConfig(contentsOf: fixtures.appendingPathComponent("sd21-tiny/config.json"))
        #expect(plain.projectionDim == nil)

        // stable-diffusion-xl-base-1.0's text_encoder_2 and text_encoder configs, as published.
        let bigG = try Self.config(#"""
            {"architectures": ["CLIPTextModelWithProjection"], "attention_dropout": 0.0, "bos_token_id": 0,
             "dropout": 0.0, "eos_token_id": 2, "hidden_act": "gelu", "hidden_size": 1280,
             "initializer_factor": 1.0, "initializer_range": 0.02, "intermediate_size": 5120,
             "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model",
             "num_attention_heads": 20, "num_hidden_layers": 32, "pad_token_id": 1, "projection_dim": 1280,
             "torch_dtype": "float16", "transformers_version": "4.34.0", "vocab_size": 49408}
            """#)
        #expect(bigG == .sdxlBigG)
        let vitL = try Self.config(#"""
            {"architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0,
             "eos_token_id": 2, "hidden_act": "quick_gelu", "hidden_size": 768, "initializer_factor": 1.0,
             "initializer_range": 0.02, "intermediate_size": 3072, "layer_norm_eps": 1e-05,
             "max_position_embeddings": 77, "model_type": "clip_text_model", "num_attention_heads": 12,
             "num_hidden_layers": 12, "pad_token_id": 1, "projection_dim": 768, "torch_dtype": "float16",
             "transformers_version": "4.34.0", "vocab_size": 49408}
            """#)
        #expect(vitL == .sd15)

        // Without architectures a config reads as transformers' AutoModel reads it: a plain model.
        #expect(try Self.config(#"{"projection_dim": 64}"#).projectionDim == nil)
        #expect { _ = try Self.config(#"{"architectures": ["CLIPTextModelWithProjection"], "projection_dim": 0}"#) }
            throws: { "\($0)".contains("projection_dim") }
    }

    /// A stored projection is ignored when the config names none, as transformers' CLIPTextModel
    /// ignores it; the tower's outputs are the same either way.
    @Test func aStoredProjectionIsUnusedWithoutProjectionDim() throws {
        let c = try Self.load("sdxl2-tiny")
        var config = c.model.config
        config.projectionDim = nil
        let weights = try SafetensorsFile(url: FixturePaths.url("clip/sdxl2-tiny/model.safetensors"))
        let plain = try CLIPTextModel(Weights(weights), config: config)
        let output = plain(c.ids)
        #expect(output.textEmbeds == nil)
        #expect(output.pooled == c.model(c.ids).pooled)
    }

    @Test func aMissingOrMisshapenProjectionIsNamedInTheError() throws {
        let sd21 = FixturePaths.url("clip/sd21-tiny")
        var config = try CLIPTextConfig(contentsOf: sd21.appendingPathComponent("config.json"))
        config.projectionDim = 32
        let plainWeights = try SafetensorsFile(url: sd21.appendingPathComponent("model.safetensors"))
        #expect {
            _ = try CLIPTextModel(Weights(plainWeights), config: config)
        } throws: { error in
            "\(error)".contains("text_projection.weight") && "\(error)".contains("missing")
        }

        let sdxl2 = FixturePaths.url("clip/sdxl2-tiny")
        var wide = try CLIPTextConfig(contentsOf: sdxl2.appendingPathComponent("config.json"))
        wide.projectionDim = 80
        let weights = try SafetensorsFile(url: sdxl2.appendingPathComponent("model.safetensors"))
        #expect {
            _ = try CLIPTextModel(Weights(weights), config: wide)
        } throws: { error in
            "\(error)".contains("text_projection.weight") && "\(error)".contains("[56, 80]")
                && "\(error)".contains("[80, 80]")
        }
    }

    @Test func prefixedAndUnprefixedKeyLayoutsGiveIdenticalOutputs() throws {
        let plain = try Self.load("sd15-tiny")
        let prefixed = try Self.load("sd15-tiny", weightsFile: "prefixed/model.safetensors")
        #expect(plain.model(plain.ids).lastHiddenState == prefixed.model(plain.ids).lastHiddenState)
    }

    @Test func clipSkipStopsEarlyAndNormalisesThatLayer() throws {
        let c = try Self.load("sd21-tiny")
        let full = c.model(c.ids)
        let skipped = c.model(c.ids, layers: c.model.config.layers - 1)
        #expect(skipped.hiddenStates.count == c.model.config.layers)
        #expect(skipped.hiddenStates.last == full.hiddenStates[c.model.config.layers - 1])
        #expect(skipped.lastHiddenState != full.lastHiddenState)
    }

    @Test func repeatedRunsAreBitIdenticalAndBatchingChangesNothingVisible() throws {
        let c = try Self.load("sd15-tiny")
        let batched = c.model(c.ids).lastHiddenState
        let again = c.model(c.ids).lastHiddenState
        let identical = batched == again
        #expect(identical)
        // BLAS may block a 1-row-prompt GEMM differently from a 3-prompt one: equal to rounding.
        let single = c.model([c.ids[1]]).lastHiddenState
        let slice = Tensor(shape: single.shape, data: Array(batched.data[single.count ..< 2 * single.count]))
        #expect(Self.relativeError(single, slice) < 1e-6)
    }

    @Test func aMissingTensorIsNamedInTheError() throws {
        let folder = FixturePaths.url("clip/sd15-tiny")
        var config = try CLIPTextConfig(contentsOf: folder.appendingPathComponent("config.json"))
        config.layers += 1  // asks for a layer the file does not have
        let weights = try SafetensorsFile(url: folder.appendingPathComponent("model.safetensors"))
        #expect {
            _ = try CLIPTextModel(Weights(weights), config: config)
        } throws: { error in
            "\(error)".contains("encoder.layers.3.") && "\(error)".contains("missing")
                && "\(error)".contains("model.safetensors")
        }
    }

    @Test func aMismatchedConfigIsAShapeErrorWithNumbers() throws {
        let folder = FixturePaths.url("clip/sd15-tiny")
        var config = try CLIPTextConfig(contentsOf: folder.appendingPathComponent("config.json"))
        config.intermediateSize = 100
        let weights = try SafetensorsFile(url: folder.appendingPathComponent("model.safetensors"))
        #expect {
            _ = try CLIPTextModel(Weights(weights), config: config)
        } throws: { error in
            "\(error)".contains("mlp.fc1.weight") && "\(error)".contains("[256, 64]")
                && "\(error)".contains("[100, 64]")
        }
    }
}
