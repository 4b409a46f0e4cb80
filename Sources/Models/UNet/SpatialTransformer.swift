import Kernels

/// diffusers' `Transformer2DModel` on continuous inputs: GroupNorm, project to tokens, `depth` of
/// the shared transformer core's blocks (self-attention, cross-attention to the text, GEGLU;
/// SD uses one, SDXL up to ten), project back, add the input.
struct SpatialTransformer: Sendable {
    let norm: GroupNorm
    let projectIn: Linear   // [channels, channels]; SD 1.x stores it as a 1×1 conv
    let blocks: [TransformerBlock]
    let projectOut: Linear  // [channels, channels]

    init(_ w: Weights, channels: Int, heads: Int, contextWidth: Int, groups: Int, linearProjection: Bool,
         depth: Int, onlyCrossAttention: Bool) throws {
        // A config inferred from weights (single files assume 64-wide heads) may not fit them.
        guard heads > 0, channels % heads == 0 else {
            throw WeightError(origin: w.store.origin, key: String(w.prefix.dropLast()),
                              reason: "\(channels) channels do not split into \(heads) attention heads")
        }
        norm = try GroupNorm(w["norm"], groups: groups, channels: channels, eps: 1e-6)
        // A 1×1 convolution over NCHW is the same map as a linear layer over [pixels, channels].
        func projection(_ name: String) throws -> Linear {
            if linearProjection { return try Linear(w[name], inFeatures: channels, outFeatures: channels) }
            let conv = try w[name].matrix("weight", shape: [channels, channels, 1, 1], use: .linear)
            return Linear(weight: conv.reshaped([channels, channels]),
                          bias: try w[name].tensor("bias", shape: [channels]))
        }
        projectIn = try projection("proj_in")
        projectOut = try projection("proj_out")
        let headDim = channels / heads
        blocks = try (0..<depth).map { index in
            let block = w["transformer_blocks"][index]
            return TransformerBlock(
                selfAttentionNorm: try LayerNorm(block["norm1"], width: channels, eps: 1e-5),
                selfAttention: try Attention(block["attn1"], naming: .diffusers(qkvBias: false), width: channels,
                                             contextWidth: onlyCrossAttention ? contextWidth : nil, heads: heads,
                                             headDim: headDim, causal: false),
                selfAttentionReadsContext: onlyCrossAttention,
                crossAttention: (
                    norm: try LayerNorm(block["norm2"], width: channels, eps: 1e-5),
                    attention: try Attention(block["attn2"], naming: .diffusers(qkvBias: false), width: channels,
                                             contextWidth: contextWidth, heads: heads, headDim: headDim, causal: false)),
                feedForwardNorm: try LayerNorm(block["norm3"], width: channels, eps: 1e-5),
                feedForward: FeedForward(
                    up: try Linear(block["ff.net.0.proj"], inFeatures: channels, outFeatures: 8 * channels),
                    down: try Linear(block["ff.net.2"], inFeatures: 4 * channels, outFeatures: channels),
                    kind: .geglu))
        }
    }

    /// x [batch, channels, h, w], context [batch, tokens, contextWidth] → [batch, channels, h, w]
    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        let channels = x.shape[1], pixels = x.shape[2] * x.shape[3]
        var tokens = transposeLastTwo(norm(x), rows: channels, cols: pixels)  // [batch, pixels, channels]
        tokens = projectIn(tokens)
        for block in blocks { tokens = block(tokens, context: context) }
        tokens = projectOut(tokens)
        var out = transposeLastTwo(tokens, rows: pixels, cols: channels).reshaped(x.shape)
        addInPlace(&out, x)
        return out
    }
}
