import Kernels

/// Turns the sampler's latents into an RGB image: the full VAE, the tiny preview decoder and the
/// linear latent preview all answer to this, so the pipeline can pick one per frame.
public protocol LatentDecoder: Sendable {
    /// Model latents [batch, latentChannels, h, w] (the sampler's output, before any VAE scaling)
    /// → RGB [batch, 3, H, W], planar, about [-1, 1] and not clamped. H, W are h, w times the
    /// decoder's scale (8 for SD's VAE and TAESD, 1 for the linear preview). Implementations poll
    /// `isCancelled` between their blocks and throw `CancellationError` when it returns true.
    func decode(_ latents: Tensor, isCancelled: () -> Bool) throws -> Tensor
}
