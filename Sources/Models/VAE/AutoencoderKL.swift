import Foundation
import Kernels

/// diffusers' `AutoencoderKL`, SD's VAE: images in [-1, 1] ⇄ latents at 1/2^(levels−1) the size.
///
///     decode: z / scaling_factor + shift_factor → post_quant_conv → conv_in → mid block
///             → up blocks (ResNets, upsample) → GroupNorm·SiLU → conv_out → image
///     encode: image → conv_in → down blocks (ResNets, downsample) → mid block
///             → GroupNorm·SiLU → conv_out → quant_conv → [mean ‖ log variance]
///
/// Both sides speak *model* latents (what the sampler produces and the U-Net sees): `decode`
/// applies the scaling that diffusers pipelines apply before calling `vae.decode`, and
/// `ImageEncoder.encodeLatents` the inverse after `vae.encode`.
///
/// Only the decoder is built at load. The encoder (34 M parameters, 137 MB of fp32 for SD's VAE)
/// serves only image-to-latent work, which text-to-image never does: `loadEncoder()` builds it
/// from the same weights when something encodes.
public struct AutoencoderKL: LatentDecoder {
    public let config: AutoencoderKLConfig

    let postQuantConv: Conv2d?  // [latent, latent, 1, 1]
    let decoder: Decoder
    /// The whole VAE's weights, for `loadEncoder` (a memory-mapped file: the encoder's part is
    /// not read until then).
    let weights: Weights

    /// diffusers' Encoder and Decoder build every GroupNorm with eps 1e-6.
    static let normEps: Float = 1e-6

    /// Builds the decoder from `w`; the encoder waits for `loadEncoder`.
    public init(_ w: Weights, config c: AutoencoderKLConfig) throws {
        config = c
        let latent = c.latentChannels
        postQuantConv = c.usePostQuantConv
            ? try Conv2d(w["post_quant_conv"], inChannels: latent, outChannels: latent, kernel: 1) : nil
        decoder = try Decoder(w["decoder"], config: c)
        weights = w
    }

    /// Image pixels per latent pixel along each side (8 for SD).
    public var scaleFactor: Int { 1 << (config.blockOutChannels.count - 1) }

    /// Model latents [batch, latent, h, w] → image [batch, out, scaleFactor·h, scaleFactor·w],
    /// about [-1, 1] (not clamped). `isCancelled` is polled before every ResNet, the attention and
    /// the output head; when it returns true the call throws `CancellationError`.
    public func decode(_ latents: Tensor, isCancelled: () -> Bool = { false }) throws -> Tensor {
        precondition(latents.rank == 4 && latents.shape[1] == config.latentChannels,
                     "VAE decode: latents \(latents.shape) are not [batch, \(config.latentChannels), h, w]")
        var z = elementwise(latents) { $0 / config.scalingFactor + config.shiftFactor }
        if let postQuantConv { z = postQuantConv(z) }
        return try decoder(z) { if isCancelled() { throw CancellationError() } }
    }

    /// The encoder half, built from the weights now (image-to-image; text-to-image never needs it).
    public func loadEncoder() throws -> ImageEncoder {
        let latent = config.latentChannels
        return ImageEncoder(
            config: config,
            encoder: try Encoder(weights["encoder"], config: config),
            quantConv: config.useQuantConv
                ? try Conv2d(weights["quant_conv"], inChannels: 2 * latent, outChannels: 2 * latent, kernel: 1) : nil)
    }

    /// The VAE's encoder: images → the latent posterior, or straight to model latents.
    public struct ImageEncoder: Sendable {
        public let config: AutoencoderKLConfig
        let encoder: Encoder
        let quantConv: Conv2d?      // [2·latent, 2·latent, 1, 1]

        /// Image [batch, in, H, W] in [-1, 1] → the posterior diffusers' `latent_dist` describes:
        /// mean and log variance [batch, latent, H', W'] of the VAE latents (unscaled), the log
        /// variance clamped to [-30, 20] as `DiagonalGaussianDistribution` does. Each level but the
        /// last halves a side (rounding down), so H' = H / scaleFactor when it divides.
        public func encode(_ image: Tensor) -> (mean: Tensor, logVariance: Tensor) {
            precondition(image.rank == 4 && image.shape[1] == config.inChannels,
                         "VAE encode: image \(image.shape) is not [batch, \(config.inChannels), H, W]")
            var moments = encoder(image)  // [batch, 2·latent, H', W']
            if let quantConv { moments = quantConv(moments) }
            let batch = moments.shape[0], latent = config.latentChannels
            let plane = latent * moments.shape[2] * moments.shape[3]
            var shape = moments.shape
            shape[1] = latent
            var mean = [Float](), logVariance = [Float]()
            mean.reserveCapacity(batch * plane)
            logVariance.reserveCapacity(batch * plane)
            for n in 0..<batch {
                mean.append(contentsOf: moments.data[(2 * n) * plane ..< (2 * n + 1) * plane])
                logVariance.append(contentsOf: moments.data[(2 * n + 1) * plane ..< (2 * n + 2) * plane].map {
                    min(max($0, -30), 20)
                })
            }
            return (Tensor(shape: shape, data: mean), Tensor(shape: shape, data: logVariance))
        }

        /// Image [batch, in, H, W] in [-1, 1] → model latents [batch, latent, H', W'] at the
        /// posterior's mode (`latent_dist.mode()`): the same image always gives the same latents.
        public func encodeLatents(_ image: Tensor) -> Tensor {
            let posterior = encode(image)
            return modelLatents(mean: posterior.mean, logVariance: posterior.logVariance)
        }

        /// A posterior from `encode` → model latents (x − shift_factor) · scaling_factor, where x
        /// is the mean, or with unit Gaussian `noise` the sample mean + exp(½ · log variance) · noise:
        /// diffusers' `latent_dist.sample(generator)` when `noise` is that generator's next draw.
        /// All [batch, latent, h, w].
        public func modelLatents(mean: Tensor, logVariance: Tensor, noise: Tensor? = nil) -> Tensor {
            let shift = config.shiftFactor, scale = config.scalingFactor
            guard let noise else { return elementwise(mean) { ($0 - shift) * scale } }
            precondition(noise.shape == mean.shape, "posterior noise \(noise.shape) ≠ latent shape \(mean.shape)")
            return elementwise(mean, logVariance, noise) { m, logVariance, n in
                (m + Foundation.exp(0.5 * logVariance) * n - shift) * scale
            }
        }
    }
}

extension AutoencoderKL {
    /// Loads a diffusers `vae/` folder: `config.json` and its `.safetensors` weights, its weight matrices kept in `precision`.
    public init(folder: URL, precision: Precision = .fp32) throws {
        let config = try AutoencoderKLConfig(contentsOf: folder.appendingPathComponent("config.json"))
        try self.init(Weights(try ShardedStore(folder: folder), precision: precision), config: config)
    }
}

// MARK: - Encoder and decoder

extension AutoencoderKL {
    /// diffusers' VAE `Encoder` (`double_z`: 2·latent output channels, mean and log variance).
    struct Encoder: Sendable {
        let convIn: Conv2d             // [block0, in, 3, 3]
        let downBlocks: [DownEncoderBlock]
        let mid: VAEMidBlock
        let normOut: GroupNorm         // [deepest]
        let convOut: Conv2d            // [2·latent, deepest, 3, 3]

        init(_ w: Weights, config c: AutoencoderKLConfig) throws {
            let channels = c.blockOutChannels, levels = channels.count
            convIn = try Conv2d(w["conv_in"], inChannels: c.inChannels, outChannels: channels[0], kernel: 3)
            downBlocks = try (0..<levels).map { level in
                try DownEncoderBlock(w["down_blocks"][level], inChannels: channels[max(level - 1, 0)],
                                     outChannels: channels[level], layers: c.layersPerBlock, groups: c.normGroups,
                                     downsample: level < levels - 1)
            }
            mid = try VAEMidBlock(w["mid_block"], channels: channels[levels - 1], groups: c.normGroups,
                                  attention: c.midBlockAttention)
            normOut = try GroupNorm(w["conv_norm_out"], groups: c.normGroups, channels: channels[levels - 1],
                                    eps: AutoencoderKL.normEps)
            convOut = try Conv2d(w["conv_out"], inChannels: channels[levels - 1], outChannels: 2 * c.latentChannels,
                                 kernel: 3)
        }

        /// image [batch, in, H, W] → moments [batch, 2·latent, H', W']
        func callAsFunction(_ image: Tensor) -> Tensor {
            // Encoding runs once, before sampling, so it has no cancellation checkpoints.
            var h = convIn(image)
            for block in downBlocks { h = block(h, checkpoint: {}) }
            return convOut(mid(h, checkpoint: {}), normalizedBy: normOut, activation: .silu)
        }
    }

    /// diffusers' VAE `Decoder`: the encoder mirrored, each up block one ResNet deeper
    /// (layers_per_block + 1).
    struct Decoder: Sendable {
        let convIn: Conv2d             // [deepest, latent, 3, 3]
        let mid: VAEMidBlock
        let upBlocks: [UpDecoderBlock]
        let normOut: GroupNorm         // [block0]
        let convOut: Conv2d            // [out, block0, 3, 3]

        init(_ w: Weights, config c: AutoencoderKLConfig) throws {
            let channels = c.blockOutChannels, levels = channels.count
            convIn = try Conv2d(w["conv_in"], inChannels: c.latentChannels, outChannels: channels[levels - 1],
                                kernel: 3)
            mid = try VAEMidBlock(w["mid_block"], channels: channels[levels - 1], groups: c.normGroups,
                                  attention: c.midBlockAttention)
            upBlocks = try (0..<levels).map { index in
                let level = levels - 1 - index  // up block `index` mirrors down level `level`
                return try UpDecoderBlock(w["up_blocks"][index], inChannels: channels[min(level + 1, levels - 1)],
                                          outChannels: channels[level], layers: c.layersPerBlock + 1,
                                          groups: c.normGroups, upsample: index < levels - 1)
            }
            normOut = try GroupNorm(w["conv_norm_out"], groups: c.normGroups, channels: channels[0],
                                    eps: AutoencoderKL.normEps)
            convOut = try Conv2d(w["conv_out"], inChannels: channels[0], outChannels: c.outChannels, kernel: 3)
        }

        /// z [batch, latent, h, w] (after post_quant_conv) → image [batch, out, H, W]; `checkpoint`
        /// runs before every ResNet, the attention and the output head.
        func callAsFunction(_ z: Tensor, checkpoint: () throws -> Void) throws -> Tensor {
            var h = try mid(convIn(z), checkpoint: checkpoint)
            for block in upBlocks { h = try block(h, checkpoint: checkpoint) }
            try checkpoint()
            return convOut(h, normalizedBy: normOut, activation: .silu)
        }
    }
}
