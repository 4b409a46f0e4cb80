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
        let fail = { (reason: String) in ConfigError(file: url.path, reason: reason) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw fail("cannot read: \(error.localizedDescription)") }
        guard var json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw fail("not a JSON object")
        }
        if let text = json["text_config"] as? [String: Any] { json = text }
        func int(_ key: String, _ fallback: Int) throws -> Int {
            guard let value = json[key] else { return fallback }
            guard let number = value as? NSNumber, number.doubleValue == number.doubleValue.rounded(),
                  number.intValue > 0 || key == "eos_token_id" else {
                throw fail("'\(key)' must be a positive integer, got \(value)")
            }
            return number.intValue
        }
        let activationName = json["hidden_act"] as? String ?? "quick_gelu"
        guard let activation = Activation(rawValue: activationName), activation != .silu else {
            throw fail("unsupported hidden_act '\(activationName)' (expected gelu or quick_gelu)")
        }
        self.init(
            vocabularySize: try int("vocab_size", 49408),
            width: try int("hidden_size", 512),
            intermediateSize: try int("intermediate_size", 2048),
            layers: try int("num_hidden_layers", 12),
            heads: try int("num_attention_heads", 8),
            maxPositions: try int("max_position_embeddings", 77),
            activation: activation,
            layerNormEps: Float((json["layer_norm_eps"] as? NSNumber)?.doubleValue ?? 1e-5),
            eosTokenID: try int("eos_token_id", 49407))
        guard width % heads == 0 else {
            throw fail("hidden_size \(width) is not divisible by num_attention_heads \(heads)")
        }
    }
}

/// A model configuration file is unreadable or inconsistent.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let reason: String
    public var description: String { "\(file): \(reason)" }
}
