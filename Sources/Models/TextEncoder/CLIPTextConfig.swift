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
    /// Output width of `text_projection`, the bias-free Linear that makes `text_embeds` of the
    /// pooled output in transformers' `CLIPTextModelWithProjection` (SDXL's `text_encoder_2`); nil
    /// for a plain `CLIPTextModel`, which has no projection.
    public var projectionDim: Int?

    /// SD 1.x: OpenAI CLIP ViT-L/14's text tower (stable-diffusion-v1-5/text_encoder/config.json).
    public static let sd15 = CLIPTextConfig(
        vocabularySize: 49408, width: 768, intermediateSize: 3072, layers: 12, heads: 12,
        maxPositions: 77, activation: .quickGELU, layerNormEps: 1e-5, eosTokenID: 2)

    /// SD 2.x and SD-Turbo: OpenCLIP ViT-H/14's text tower without its last layer, as diffusers
    /// stores it (stable-diffusion-2-1/text_encoder/config.json).
    public static let sd21 = CLIPTextConfig(
        vocabularySize: 49408, width: 1024, intermediateSize: 4096, layers: 23, heads: 16,
        maxPositions: 77, activation: .gelu, layerNormEps: 1e-5, eosTokenID: 2)

    /// SDXL's second text encoder: OpenCLIP ViT-bigG/14's text tower with its projection
    /// (stable-diffusion-xl-base-1.0/text_encoder_2/config.json). SDXL's first encoder is `sd15`'s
    /// tower; its config's `projection_dim` 768 is not used, as it names a plain CLIPTextModel.
    public static let sdxlBigG = CLIPTextConfig(
        vocabularySize: 49408, width: 1280, intermediateSize: 5120, layers: 32, heads: 20,
        maxPositions: 77, activation: .gelu, layerNormEps: 1e-5, eosTokenID: 2, projectionDim: 1280)

    public init(vocabularySize: Int, width: Int, intermediateSize: Int, layers: Int, heads: Int,
                maxPositions: Int, activation: Activation, layerNormEps: Float, eosTokenID: Int,
                projectionDim: Int? = nil) {
        self.vocabularySize = vocabularySize
        self.width = width
        self.intermediateSize = intermediateSize
        self.layers = layers
        self.heads = heads
        self.maxPositions = maxPositions
        self.activation = activation
        self.layerNormEps = layerNormEps
        self.eosTokenID = eosTokenID
        self.projectionDim = projectionDim
    }

    /// Reads a transformers `config.json` (a `CLIPTextConfig`, or a full `CLIPConfig` whose
    /// `text_config` is used). Missing fields take transformers' defaults.
    ///
    /// `projectionDim` is read only when `architectures` names `CLIPTextModelWithProjection`, the
    /// class transformers builds from such a config: every text config carries `projection_dim`
    /// (transformers writes its default 512 for a plain CLIPTextModel too; SDXL's ViT-L says 768),
    /// so the field alone does not mean there is a projection. A config without `architectures`
    /// reads as a plain CLIPTextModel; a loader that knows the class otherwise (diffusers'
    /// `model_index.json`) sets `projectionDim` itself.
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
            eosTokenID: try json.int("eos_token_id") ?? 49407,
            projectionDim: try file.strings("architectures")?.contains("CLIPTextModelWithProjection") == true
                ? try positive("projection_dim", 512) : nil)
        guard width % heads == 0 else {
            throw json.fail("hidden_size \(width) is not divisible by num_attention_heads \(heads)")
        }
    }
}
