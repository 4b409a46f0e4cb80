import Foundation
import Kernels

/// The cheapest preview: every latent pixel mapped to RGB by one fixed linear map,
/// rgb = Σ_c latent_c · matrix[c] + bias, at latent resolution (the caller upscales).
///
/// An approximation, not a decoder: the numbers are a least-squares fit of what the real VAE
/// decodes, so the preview gets the colours and layout roughly right and misses all detail the
/// VAE's 8× upsampling invents. Cost: a few multiply-adds per latent pixel.
public struct LatentPreview: LatentDecoder {
    /// [latentChannels][3]: row c is latent channel c's contribution to R, G and B.
    public let matrix: [[Float]]
    /// [3]
    public let bias: [Float]

    public init(matrix: [[Float]], bias: [Float] = [0, 0, 0]) {
        precondition(!matrix.isEmpty && matrix.allSatisfy { $0.count == 3 } && bias.count == 3,
                     "latent preview: matrix must be [channels][3] and bias [3], "
                     + "got rows of \(matrix.map(\.count)) and \(bias.count)")
        self.matrix = matrix
        self.bias = bias
    }

    /// SD 1.x, on model latents (the VAE's latents × 0.18215, what the sampler holds). The factors
    /// are ComfyUI's `SD15.latent_rgb_factors` (comfy/latent_formats.py), a refit of keturn's
    /// original approximation (discuss.huggingface.co/t/decoding-latents-to-rgb-without-upscaling/23204).
    public static let sd15 = LatentPreview(matrix: [
        //   R        G        B
        [ 0.3512,  0.2297,  0.3227],
        [ 0.3250,  0.4974,  0.2350],
        [-0.2829,  0.1762,  0.2721],
        [-0.2120, -0.2616, -0.7177],
    ])

    /// SD 2.x decodes with SD 1.x's VAE, so its latents mean the same colours.
    public static let sd21 = sd15

    /// SDXL's VAE (latents × 0.13025): ComfyUI's `SDXL.latent_rgb_factors` and its bias.
    public static let sdxl = LatentPreview(matrix: [
        //   R        G        B
        [ 0.3651,  0.4232,  0.4341],
        [-0.2533, -0.0042,  0.1068],
        [ 0.1076,  0.1111, -0.0362],
        [-0.3165, -0.2492, -0.2188],
    ], bias: [0.1084, -0.0175, -0.0011])

    /// The preview for the diffusers model in `folder`. Factors written into its `vae/config.json`
    /// as `latent_rgb_factors` [channels][3] and optionally `latent_rgb_factors_bias` [3]
    /// (ComfyUI's names; diffusers ignores keys it does not know) win — that is how a model with
    /// its own latent space ships its fit. Otherwise 4-channel latents get SD's factors; other
    /// latent spaces have no preview and are refused by their channel count.
    public static func forModel(folder: URL, unetConfig: UNetConfig) throws -> LatentPreview {
        let json = try ConfigJSON(contentsOf: folder.appendingPathComponent("vae/config.json"))
        let channels = unetConfig.outChannels
        if let matrix = try json.floatRows("latent_rgb_factors") {
            guard matrix.count == channels, matrix[0].count == 3 else {
                throw json.fail("'latent_rgb_factors' is [\(matrix.count)][\(matrix[0].count)], "
                                + "the U-Net's latents need [\(channels)][3]")
            }
            let bias = try json.floats("latent_rgb_factors_bias") ?? [0, 0, 0]
            guard bias.count == 3 else {
                throw json.fail("'latent_rgb_factors_bias' has \(bias.count) values, not 3")
            }
            return LatentPreview(matrix: matrix, bias: bias)
        }
        guard channels == 4 else {
            throw json.fail("no 'latent_rgb_factors' for the U-Net's \(channels)-channel latents "
                            + "(built in: SD 1.x/2.x's and SDXL's 4 channels)")
        }
        if unetConfig.textTimeEmbedding != nil { return .sdxl }
        return unetConfig.crossAttentionDim == 1024 ? .sd21 : .sd15
    }

    /// Model latents [batch, channels, h, w] → RGB [batch, 3, h, w], about [-1, 1] and not clamped.
    /// Too quick to be worth cancelling, so `isCancelled` is not polled.
    public func decode(_ latents: Tensor, isCancelled: () -> Bool = { false }) -> Tensor {
        let channels = matrix.count
        precondition(latents.rank == 4 && latents.shape[1] == channels,
                     "latent preview: latents \(latents.shape) are not [batch, \(channels), h, w]")
        let batch = latents.shape[0], pixels = latents.shape[2] * latents.shape[3]
        var rgb = Tensor(zeros: [batch, 3, latents.shape[2], latents.shape[3]])
        latents.data.withUnsafeBufferPointer { lp in
            rgb.data.withUnsafeMutableBufferPointer { rp in
                for n in 0..<batch {
                    for colour in 0..<3 {
                        let out = rp.baseAddress! + (n * 3 + colour) * pixels
                        out.update(repeating: bias[colour], count: pixels)
                        for c in 0..<channels {
                            let weight = matrix[c][colour]
                            let plane = lp.baseAddress! + (n * channels + c) * pixels
                            for i in 0..<pixels { out[i] += weight * plane[i] }
                        }
                    }
                }
            }
        }
        return rgb
    }
}
