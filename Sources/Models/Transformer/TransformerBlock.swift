import Kernels

/// The pre-norm transformer block shared by the text encoder and the U-Net:
///
///     x += selfAttention(norm(x))
///     x += crossAttention(norm(x), context)     (U-Net only)
///     x += feedForward(norm(x))
///
/// diffusers' `only_cross_attention` blocks (SDXS's top level) attend to the context in the first
/// attention as well (`selfAttentionReadsContext`).
public struct TransformerBlock: Sendable {
    public let selfAttentionNorm: LayerNorm
    public let selfAttention: Attention
    public let crossAttentionNorm: LayerNorm?
    public let crossAttention: Attention?
    public let feedForwardNorm: LayerNorm
    public let feedForward: FeedForward
    public let selfAttentionReadsContext: Bool

    public init(selfAttentionNorm: LayerNorm, selfAttention: Attention, selfAttentionReadsContext: Bool = false,
                crossAttention: (norm: LayerNorm, attention: Attention)? = nil,
                feedForwardNorm: LayerNorm, feedForward: FeedForward) {
        self.selfAttentionNorm = selfAttentionNorm
        self.selfAttention = selfAttention
        self.selfAttentionReadsContext = selfAttentionReadsContext
        self.crossAttentionNorm = crossAttention?.norm
        self.crossAttention = crossAttention?.attention
        self.feedForwardNorm = feedForwardNorm
        self.feedForward = feedForward
    }

    /// x [batch, tokens, width], context [batch, contextTokens, contextWidth] → [batch, tokens, width]
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil) -> Tensor {
        var x = x
        addInPlace(&x, selfAttention(selfAttentionNorm(x), context: selfAttentionReadsContext ? context : nil))
        if let crossAttention, let crossAttentionNorm {
            addInPlace(&x, crossAttention(crossAttentionNorm(x), context: context))
        }
        addInPlace(&x, feedForward(feedForwardNorm(x)))
        return x
    }
}
