import Foundation
import Kernels

/// The text half of a CLIP model, as transformers' `CLIPTextConfig` (`text_encoder/config.json`).
public struct CLIPTextConfig: Sendable, Equatable {
    public var vocabularySize: Int
    public var width: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var maxPositions: Int
    public var activation: Activation
    public var layerNormEps: Float
    /// transformers pools at the EOS token; eos 2 marks old configs that pool at argmax(ids).
    public var eosTokenID: Int

    /// SD 1.x: OpenAI CLIP ViT-L/14's text tower (stable-diffusion-v1-5/text_encoder/config.json).
    public static let sd15 = CLIPTextConfig(
        vocabularySize: 49408, width: 768, intermediateSize: 3072, layers: 12, heads: 12,
        maxPositions: 77, activation: .quickGELU, layerNormEps: 1e-5, eosTokenID: 2)

    /// SD 2.x and SD-Turbo: OpenCLIP ViT-H/14's text tower without its last layer, as diffusers
    /// stores it (stable-diffusion-2-1/text_encoder/config.json).
    public static let sd21 = CLIPTextConfig(
        vocabularySize: 49408, width: 1024, intermediateSize: 4096, layers: 23, heads: 16,
        maxPositions: 77, activation: .gelu, layerNormEps: 1e-5, eosTokenID: 2)

    public init(vocabularySize: Int, width: Int, intermediateSize: Int, layers: Int, heads: Int,
                maxPositions: Int, activation: Activation, layerNormEps: Float, eosTokenID: Int) {
        self.vocabularySize = vocabularySize
        self.width = width
        self.intermediateSize = intermediateSize
        self.layers = layers
        self.heads = heads
        self.maxPositions = maxPositions
        self.activation = activation
        self.layerNormEps = layerNormEps
        self.eosTokenID = eosTokenID
    }

    /// Reads a transformers `config.json` (a `CLIPTextConfig`, or a full `CLIPConfig` whose
    /// `text_config` is used). Missing fields take transformers' defaults.
    public init(contentsOf url: URL) throws {
        let file = try ConfigJSON(contentsOf: url)
        let json = try file.object("text_config") ?? file
        func positive(_ key: String, _ fallback: Int) throws -> Int {
            let value = try json.int(key) ?? fallback
            guard value > 0 else { throw json.fail("'\(key)' must be a positive integer, got \(value)") }
            return value
        }
        let activationName = try json.string("hidden_act") ?? "quick_gelu"
        guard let activation = Activation(rawValue: activationName), activation != .silu else {
            throw json.fail("unsupported hidden_act '\(activationName)' (expected gelu or quick_gelu)")
        }
        self.init(
            vocabularySize: try positive("vocab_size", 49408),
            width: try positive("hidden_size", 512),
            intermediateSize: try positive("intermediate_size", 2048),
            layers: try positive("num_hidden_layers", 12),
            heads: try positive("num_attention_heads", 8),
            maxPositions: try positive("max_position_embeddings", 77),
            activation: activation,
            layerNormEps: try json.float("layer_norm_eps") ?? 1e-5,
            eosTokenID: try json.int("eos_token_id") ?? 49407)
        guard width % heads == 0 else {
            throw json.fail("hidden_size \(width) is not divisible by num_attention_heads \(heads)")
        }
    }
}
