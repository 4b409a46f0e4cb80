import Kernels

/// diffusers' `ResnetBlock2D` as SD's U-Net and VAE use it (pre-norm, SiLU, output scale 1):
///
///     h = conv1(silu(norm1(x))) [+ timeProjection(silu(temb))[:, :, None, None]]
///     h = conv2(silu(norm2(h)))
///     out = shortcut(x) + h          (shortcut: 1×1 conv when channels change)
///
/// The time term is the U-Net's; the VAE's blocks are built with `temb_channels=None` and have none.
struct ResnetBlock: Sendable {
    let norm1: GroupNorm
    let conv1: Conv2d
    let timeProjection: Linear?  // [out, timeEmbeddingWidth]; nil in the VAE
    let norm2: GroupNorm
    let conv2: Conv2d
    let shortcut: Conv2d?

    init(_ w: Weights, inChannels: Int, outChannels: Int, timeEmbeddingWidth: Int?, groups: Int, eps: Float) throws {
        norm1 = try GroupNorm(w["norm1"], groups: groups, channels: inChannels, eps: eps)
        conv1 = try Conv2d(w["conv1"], inChannels: inChannels, outChannels: outChannels, kernel: 3)
        timeProjection = try timeEmbeddingWidth.map {
            try Linear(w["time_emb_proj"], inFeatures: $0, outFeatures: outChannels)
        }
        norm2 = try GroupNorm(w["norm2"], groups: groups, channels: outChannels, eps: eps)
        conv2 = try Conv2d(w["conv2"], inChannels: outChannels, outChannels: outChannels, kernel: 3)
        shortcut = inChannels == outChannels ? nil
            : try Conv2d(w["conv_shortcut"], inChannels: inChannels, outChannels: outChannels, kernel: 1)
    }

    /// x [batch, in, h, w], activatedTime = silu(temb) [batch, timeEmbeddingWidth] (U-Net only)
    /// → [batch, out, h, w]
    func callAsFunction(_ x: Tensor, activatedTime: Tensor? = nil) -> Tensor {
        var h = conv1(x, normalizedBy: norm1, activation: .silu)
        if let timeProjection {
            guard let activatedTime else { preconditionFailure("this ResNet block needs a time embedding") }
            let time = timeProjection(activatedTime)  // [batch, out]
            let batch = h.shape[0], channels = h.shape[1], pixels = h.count / (batch * channels)
            h.data.withUnsafeMutableBufferPointer { hp in
                for b in 0..<batch {
                    for c in 0..<channels {
                        let value = time.data[b * channels + c]
                        let plane = hp.baseAddress! + (b * channels + c) * pixels
                        for i in 0..<pixels { plane[i] += value }
                    }
                }
            }
        }
        var out = conv2(h, normalizedBy: norm2, activation: .silu)
        addInPlace(&out, shortcut.map { $0(x) } ?? x)
        return out
    }
}
