import Foundation
import Kernels

/// transformers' `CLIPTextModel`: token + position embeddings, a stack of causal pre-norm
/// transformer blocks (the shared core), a final LayerNorm, and pooling at the EOS token; with
/// `config.projectionDim`, also its `CLIPTextModelWithProjection`, whose `text_projection` maps the
/// pooled output to `text_embeds` (SDXL's pooled conditioning).
public struct CLIPTextModel: Sendable {
    public let config: CLIPTextConfig
    let tokenEmbedding: WeightMatrix  // [vocabularySize, width]; bf16 with the model (~100 MB less)
    let positionEmbedding: Tensor  // [maxPositions, width]
    let layers: [TransformerBlock]
    let finalNorm: LayerNorm
    let textProjection: Linear?  // [projectionDim, width], no bias; only with config.projectionDim

    /// What one forward pass yields, all for the batch of prompts given.
    public struct Output: Sendable {
        /// After the final LayerNorm: what SD conditions on. [batch, tokens, width]
        public let lastHiddenState: Tensor
        /// `lastHiddenState` at each prompt's EOS token. [batch, width]
        public let pooled: Tensor
        /// The embeddings, then the output of each layer run (before the final LayerNorm), as
        /// transformers' `output_hidden_states`. [layersRun + 1] × [batch, tokens, width]
        public let hiddenStates: [Tensor]
        /// `text_projection(pooled)`, as `CLIPTextModelWithProjection`'s `text_embeds`; nil without a
        /// projection. [batch, projectionDim]
        public let textEmbeds: Tensor?
    }

    /// Loads the weights under `weights`, which may be a `text_model.`-prefixed store (hub SD
    /// repositories) or an unprefixed one (transformers 5's `save_pretrained`): both are found.
    ///
    /// The projection, `text_projection.weight` [projectionDim, width] beside (never under)
    /// `text_model.`, as both the hub and transformers 5 store it, is loaded when and only when
    /// `config.projectionDim` is set: a stored projection without it is ignored, as transformers'
    /// CLIPTextModel ignores a full CLIPModel's.
    public init(_ weights: Weights, config: CLIPTextConfig) throws {
        let root = weights.contains("text_model.embeddings.token_embedding.weight")
            ? weights["text_model"] : weights
        self.config = config
        let width = config.width
        // A config inferred from weights (single files assume 64-wide heads) may not fit them.
        guard config.heads > 0, width % config.heads == 0 else {
            throw WeightError(origin: weights.store.origin, key: "text encoder",
                              reason: "width \(width) does not split into \(config.heads) attention heads")
        }
        tokenEmbedding = try root["embeddings.token_embedding"].matrix(
            "weight", shape: [config.vocabularySize, width], use: .linear)
        positionEmbedding = try root["embeddings.position_embedding"].tensor(
            "weight", shape: [config.maxPositions, width])
        layers = try (0..<config.layers).map { index in
            let layer = root["encoder.layers"][index]
            return TransformerBlock(
                selfAttentionNorm: try LayerNorm(layer["layer_norm1"], width: width, eps: config.layerNormEps),
                selfAttention: try Attention(
                    layer["self_attn"], naming: .clip, width: width, contextWidth: nil,
                    heads: config.heads, headDim: width / config.heads, causal: true),
                feedForwardNorm: try LayerNorm(layer["layer_norm2"], width: width, eps: config.layerNormEps),
                feedForward: FeedForward(
                    up: try Linear(layer["mlp.fc1"], inFeatures: width, outFeatures: config.intermediateSize),
                    down: try Linear(layer["mlp.fc2"], inFeatures: config.intermediateSize, outFeatures: width),
                    kind: .plain(config.activation)))
        }
        finalNorm = try LayerNorm(root["final_layer_norm"], width: width, eps: config.layerNormEps)
        textProjection = try config.projectionDim.map { projectionDim in
            try Linear(weights["text_projection"], inFeatures: width, outFeatures: projectionDim, bias: false)
        }
    }

    /// Encodes token ids [batch][tokens] (tokens ≤ maxPositions).
    ///
    /// `layers`: run only the first `layers` blocks (clip-skip); `lastHiddenState` is then the final
    /// LayerNorm of that layer's output, as diffusers does for `clip_skip`, and `pooled` and
    /// `textEmbeds` come from it too. (SDXL's pooled conditioning is `textEmbeds` of a full run
    /// whatever the clip-skip: diffusers picks the skipped layer from `hiddenStates` instead.)
    public func callAsFunction(_ ids: [[Int32]], layers layersToRun: Int? = nil) -> Output {
        let batch = ids.count, tokens = ids[0].count, width = config.width
        precondition(ids.allSatisfy { $0.count == tokens }, "all prompts must have the same length")
        precondition(tokens <= config.maxPositions,
                     "\(tokens) tokens exceed the model's \(config.maxPositions) positions")
        let runCount = min(layersToRun ?? layers.count, layers.count)

        var x = Tensor(zeros: [batch, tokens, width])
        x.data.withUnsafeMutableBufferPointer { xp in
            positionEmbedding.data.withUnsafeBufferPointer { pp in
                for b in 0..<batch {
                    for t in 0..<tokens {
                        let id = Int(ids[b][t])
                        precondition(id >= 0 && id < config.vocabularySize,
                                     "token id \(id) outside the vocabulary of \(config.vocabularySize)")
                        let out = xp.baseAddress! + (b * tokens + t) * width
                        out.update(from: pp.baseAddress! + t * width, count: width)
                        tokenEmbedding.addRow(id, to: out)
                    }
                }
            }
        }

        var hiddenStates = [x]
        for layer in layers.prefix(runCount) {
            x = layer(x)
            hiddenStates.append(x)
        }
        let last = finalNorm(x)

        var pooled = Tensor(zeros: [batch, width])
        for b in 0..<batch {
            let position = poolingPosition(ids[b])
            let start = (b * tokens + position) * width
            pooled.data.replaceSubrange(b * width ..< (b + 1) * width, with: last.data[start ..< start + width])
        }
        // transformers projects `pooler_output`, which is taken after the final LayerNorm.
        return Output(lastHiddenState: last, pooled: pooled, hiddenStates: hiddenStates,
                      textEmbeds: textProjection.map { $0(pooled) })
    }

    /// Where transformers pools: old configs (eos_token_id 2) take the highest id, which is EOS in
    /// CLIP's vocabulary; newer ones take the first EOS token (position 0 if there is none).
    func poolingPosition(_ ids: [Int32]) -> Int {
        if config.eosTokenID == 2 {
            // torch.argmax returns the first maximal index.
            var best = 0
            for (i, id) in ids.enumerated() where id > ids[best] { best = i }
            return best
        }
        return ids.firstIndex(of: Int32(config.eosTokenID)) ?? 0
    }
}

extension CLIPTextModel {
    /// Loads a transformers text-encoder folder: `config.json` and its `.safetensors` weights, its weight matrices kept in `precision`.
    public init(folder: URL, precision: Precision = .fp32) throws {
        let config = try CLIPTextConfig(contentsOf: folder.appendingPathComponent("config.json"))
        try self.init(Weights(try ShardedStore(folder: folder), precision: precision), config: config)
    }
}
