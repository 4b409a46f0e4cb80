import Foundation
import Kernels

/// diffusers' `AutoencoderTiny`: TAESD / TAESDXL, a small convolution-only autoencoder distilled
/// from the SD VAE's latent space — the live preview's decoder, far cheaper than `AutoencoderKL`.
///
///     decode: z / scaling_factor + shift_factor → tanh(z / 3)·3 → conv, ReLU
///             → per stage: blocks, then (all but the last) upsample and conv → conv
///             → image in [0, 1] → ·2 − 1
///     encode: (image + 1) / 2 → per stage: conv (stride 2 after the first), blocks → conv
///
/// `decode` returns [-1, 1] like `AutoencoderKL.decode`, as diffusers' `DecoderTiny` does (TAESD
/// itself works in [0, 1]), so callers treat both decoders alike. TAESD's scaling_factor is 1: it
/// reads the sampler's latents directly. Like `AutoencoderKL`, only the decoder is built at load;
/// `loadEncoder()` builds the encoder when something encodes.
public struct TinyAutoencoder: LatentDecoder {
    public let config: AutoencoderTinyConfig
    let decoder: [Layer]  // diffusers' `decoder.layers`: decoder[n] holds `decoder.layers.n`
    /// The whole model's weights, for `loadEncoder`.
    let weights: Weights

    /// One entry of diffusers' `nn.Sequential` `layers`. Parameter-free entries (ReLU, upsample)
    /// keep their place so that an array index is the checkpoint's key index.
    enum Layer: Sendable {
        case conv(Conv2d)  // 3×3, padding 1
        case relu
        case block(TinyBlock)
        case upsample(factor: Int)  // nearest

        /// x [batch, c, h, w] → [batch, c', h', w']
        func callAsFunction(_ x: Tensor) -> Tensor {
            switch self {
            case .conv(let conv): return conv(x)
            case .relu:
                var y = x
                clampNegatives(&y)
                return y
            case .block(let block): return block(x)
            case .upsample(let factor):
                return upsampleNearest(x, height: factor * x.shape[2], width: factor * x.shape[3])
            }
        }
    }

    /// Pixels per latent pixel: one upsampling per stage but the last (8 for TAESD).
    public var scaleFactor: Int {
        Int(pow(Double(config.upsamplingScalingFactor), Double(config.decoderBlockOutChannels.count - 1)))
    }

    public init(_ w: Weights, config c: AutoencoderTinyConfig) throws {
        config = c
        decoder = try Self.decoderLayers(w["decoder.layers"], config: c)
        weights = w
    }

    /// Model latents [batch, latent, h, w] → image [batch, out, f·h, f·w] in about [-1, 1]
    /// (f = upsampling_scaling_factor^(stages − 1), 8 for TAESD). `isCancelled` is polled before
    /// every block; when it returns true the call throws `CancellationError`.
    public func decode(_ latents: Tensor, isCancelled: () -> Bool = { false }) throws -> Tensor {
        precondition(latents.rank == 4 && latents.shape[1] == config.latentChannels,
                     "TAESD decode: latents \(latents.shape) are not [batch, \(config.latentChannels), h, w]")
        // DecoderTiny's soft clamp to (−3, 3), on the VAE-space latents.
        var h = elementwise(latents) { Foundation.tanh(($0 / config.scalingFactor + config.shiftFactor) / 3) * 3 }
        for layer in decoder {
            if case .block = layer, isCancelled() { throw CancellationError() }
            h = layer(h)
        }
        return elementwise(h) { $0 * 2 - 1 }
    }

    /// The encoder half, built from the weights now.
    public func loadEncoder() throws -> ImageEncoder {
        ImageEncoder(config: config, layers: try Self.encoderLayers(weights["encoder.layers"], config: config))
    }

    /// TAESD's encoder: images → model latents.
    public struct ImageEncoder: Sendable {
        public let config: AutoencoderTinyConfig
        let layers: [Layer]  // diffusers' `encoder.layers`: layers[n] holds `encoder.layers.n`

        /// Image [batch, in, H, W] in [-1, 1] → model latents [batch, latent, H/f, W/f] =
        /// (encoder output − shift_factor) · scaling_factor (TAESD's encoder is deterministic).
        public func encodeLatents(_ image: Tensor) -> Tensor {
            precondition(image.rank == 4 && image.shape[1] == config.inChannels,
                         "TAESD encode: image \(image.shape) is not [batch, \(config.inChannels), H, W]")
            var h = elementwise(image) { ($0 + 1) / 2 }  // TAESD's [0, 1] convention
            for layer in layers { h = layer(h) }
            return elementwise(h) { ($0 - config.shiftFactor) * config.scalingFactor }
        }
    }

    /// diffusers' `EncoderTiny.layers`: stage 0 opens with a conv from the image channels, later
    /// stages with a bias-free stride-2 conv; each adds its blocks; a final conv gives the latents.
    static func encoderLayers(_ w: Weights, config c: AutoencoderTinyConfig) throws -> [Layer] {
        let width = c.encoderBlockOutChannels[0]  // all stages share it (checked by the config)
        var layers: [Layer] = []
        func conv(_ inChannels: Int, _ outChannels: Int, stride: Int = 1, bias: Bool) throws {
            let index = layers.count
            layers.append(.conv(try Conv2d(w[index], inChannels: inChannels, outChannels: outChannels, kernel: 3,
                                           stride: stride, padding: 1, bias: bias)))
        }
        for (stage, blocks) in c.numEncoderBlocks.enumerated() {
            if stage == 0 {
                try conv(c.inChannels, width, bias: true)
            } else {
                try conv(width, width, stride: 2, bias: false)
            }
            for _ in 0..<blocks { layers.append(.block(try TinyBlock(w[layers.count], channels: width))) }
        }
        try conv(width, c.latentChannels, bias: true)
        return layers
    }

    /// diffusers' `DecoderTiny.layers`: conv and ReLU from the latents; each stage adds its blocks,
    /// then all but the last an upsample and a bias-free conv; the last stage's conv (with bias)
    /// gives the image. TAESD's own layout: 0 conv, 1 ReLU, 2–4 blocks, 5 upsample, 6 conv, … 18 conv.
    static func decoderLayers(_ w: Weights, config c: AutoencoderTinyConfig) throws -> [Layer] {
        let width = c.decoderBlockOutChannels[0]  // all stages share it (checked by the config)
        var layers: [Layer] = []
        func conv(_ inChannels: Int, _ outChannels: Int, bias: Bool) throws {
            let index = layers.count
            layers.append(.conv(try Conv2d(w[index], inChannels: inChannels, outChannels: outChannels, kernel: 3,
                                           padding: 1, bias: bias)))
        }
        try conv(c.latentChannels, width, bias: true)
        layers.append(.relu)
        let stages = c.numDecoderBlocks.count
        for (stage, blocks) in c.numDecoderBlocks.enumerated() {
            for _ in 0..<blocks { layers.append(.block(try TinyBlock(w[layers.count], channels: width))) }
            if stage < stages - 1 {
                layers.append(.upsample(factor: c.upsamplingScalingFactor))
                try conv(width, width, bias: false)
            } else {
                try conv(width, c.outChannels, bias: true)
            }
        }
        return layers
    }
}

extension TinyAutoencoder {
    /// Loads a diffusers `AutoencoderTiny` folder (e.g. madebyollin/taesd): `config.json` and its
    /// `.safetensors` weights, its weight matrices kept in `precision`.
    public init(folder: URL, precision: Precision = .fp32) throws {
        let config = try AutoencoderTinyConfig(contentsOf: folder.appendingPathComponent("config.json"))
        try self.init(Weights(try ShardedStore(folder: folder), precision: precision), config: config)
    }
}

/// diffusers' `AutoencoderTinyBlock`: relu(conv₄(relu(conv₂(relu(conv₀(x))))) + x), the `fuse`
/// ReLU applied after the sum. Its skip is the identity: TAESD builds every block with as many
/// output as input channels (diffusers' 1×1 skip conv exists only for unequal ones).
struct TinyBlock: Sendable {
    let conv0: Conv2d  // [channels, channels, 3, 3], key `conv.0` (`conv.1`, `conv.3` are the ReLUs)
    let conv2: Conv2d  // [channels, channels, 3, 3]
    let conv4: Conv2d  // [channels, channels, 3, 3]

    init(_ w: Weights, channels: Int) throws {
        conv0 = try Conv2d(w["conv.0"], inChannels: channels, outChannels: channels, kernel: 3)
        conv2 = try Conv2d(w["conv.2"], inChannels: channels, outChannels: channels, kernel: 3)
        conv4 = try Conv2d(w["conv.4"], inChannels: channels, outChannels: channels, kernel: 3)
    }

    /// x [batch, channels, h, w] → same shape
    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = conv0(x)
        clampNegatives(&h)
        h = conv2(h)
        clampNegatives(&h)
        h = conv4(h)
        addInPlace(&h, x)
        clampNegatives(&h)
        return h
    }
}
