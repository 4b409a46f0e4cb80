import Kernels

/// Multi-head attention, self or cross, with an optional causal mask — the one attention in
/// Imagine. The CLIP text encoder, the U-Net's transformer blocks and the VAE's mid-block all use
/// it; they differ only in the names their checkpoints give the projections (`AttentionNaming`).
public struct Attention: Sendable {
    public let heads: Int
    public let headDim: Int
    public let causal: Bool
    /// Self-attention: Q, K and V stacked into one [3·inner, width] projection.
    /// Cross-attention: Q alone; K and V stacked into `keyValue`, applied to the context.
    let query: Linear
    let keyValue: Linear?
    let output: Linear  // [width, inner]

    public var isSelfAttention: Bool { keyValue == nil }
    var inner: Int { heads * headDim }

    public init(query: Linear, key: Linear, value: Linear, output: Linear,
                heads: Int, causal: Bool, isSelfAttention: Bool) {
        precondition(query.outFeatures % heads == 0,
                     "attention: \(query.outFeatures) features do not split into \(heads) heads")
        self.heads = heads
        self.headDim = query.outFeatures / heads
        self.causal = causal
        if isSelfAttention {
            self.query = .stacked([query, key, value])
            self.keyValue = nil
        } else {
            self.query = query
            self.keyValue = .stacked([key, value])
        }
        self.output = output
    }

    /// x [batch, tokens, width], context [batch, contextTokens, contextWidth] (cross-attention
    /// only) → [batch, tokens, width]
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil) -> Tensor {
        let batch = x.shape[0], tokens = x.shape[1]
        let projected = query(x)  // self: [batch, tokens, 3·inner]; cross: [batch, tokens, inner]
        let keysValues: Tensor
        if let keyValue {
            guard let context else { preconditionFailure("cross-attention needs a context") }
            precondition(context.shape[0] == batch, "context batch \(context.shape[0]) ≠ \(batch)")
            keysValues = keyValue(context)  // [batch, contextTokens, 2·inner]
        } else {
            keysValues = projected
        }
        let keyCount = keysValues.shape[1]
        let queryStride = projected.shape[2], kvStride = keysValues.shape[2]
        let keyOffset = isSelfAttention ? inner : 0
        var attended = Tensor(zeros: [batch, tokens, inner])
        // [tokens, keyCount] per head run at once; every score is written before it is read.
        let scoreCount = attentionScratchCount(queryCount: tokens, keyCount: keyCount, heads: heads, headDim: headDim)
        var scores = [Float](unsafeUninitializedCapacity: scoreCount) { $1 = scoreCount }
        projected.data.withUnsafeBufferPointer { qp in
            keysValues.data.withUnsafeBufferPointer { kvp in
                attended.data.withUnsafeMutableBufferPointer { op in
                    scores.withUnsafeMutableBufferPointer { sp in
                        for b in 0..<batch {
                            let q = qp.baseAddress! + b * tokens * queryStride
                            let kv = kvp.baseAddress! + b * keyCount * kvStride
                            multiHeadAttention(
                                query: q, queryStride: queryStride,
                                key: kv + keyOffset, keyStride: kvStride,
                                value: kv + keyOffset + inner, valueStride: kvStride,
                                output: op.baseAddress! + b * tokens * inner, outputStride: inner,
                                queryCount: tokens, keyCount: keyCount, heads: heads, headDim: headDim,
                                causal: causal, scores: sp.baseAddress!,
                                precision: query.weight.precision)
                        }
                    }
                }
            }
        }
        return output(attended)
    }
}

/// How a checkpoint names an attention module's projections.
public enum AttentionNaming: Sendable {
    /// transformers' CLIP: `q_proj`, `k_proj`, `v_proj`, `out_proj`, all with biases.
    case clip
    /// diffusers: `to_q`, `to_k`, `to_v`, `to_out.0`. The U-Net's q/k/v projections have no
    /// biases; the VAE's mid-block attention has them.
    case diffusers(qkvBias: Bool)
    /// The VAE's mid-block attention in checkpoints saved before diffusers renamed it (SD 1.x/2.x
    /// `vae/` folders): `query`, `key`, `value`, `proj_attn`, all with biases. diffusers maps these
    /// to the names above at load (`_convert_deprecated_attention_blocks`).
    case diffusersLegacy

    var names: (q: String, k: String, v: String, out: String, qkvBias: Bool) {
        switch self {
        case .clip: return ("q_proj", "k_proj", "v_proj", "out_proj", true)
        case .diffusers(let qkvBias): return ("to_q", "to_k", "to_v", "to_out.0", qkvBias)
        case .diffusersLegacy: return ("query", "key", "value", "proj_attn", true)
        }
    }
}

extension Attention {
    /// Loads an attention module named the way `naming` says.
    /// `width`: the query stream's features; `contextWidth`: nil for self-attention.
    public init(_ weights: Weights, naming: AttentionNaming, width: Int, contextWidth: Int?,
                heads: Int, headDim: Int, causal: Bool) throws {
        let n = naming.names
        let inner = heads * headDim
        let sourceWidth = contextWidth ?? width
        self.init(
            query: try Linear(weights[n.q], inFeatures: width, outFeatures: inner, bias: n.qkvBias),
            key: try Linear(weights[n.k], inFeatures: sourceWidth, outFeatures: inner, bias: n.qkvBias),
            value: try Linear(weights[n.v], inFeatures: sourceWidth, outFeatures: inner, bias: n.qkvBias),
            output: try Linear(weights[n.out], inFeatures: inner, outFeatures: width),
            heads: heads, causal: causal, isSelfAttention: contextWidth == nil)
    }
}
