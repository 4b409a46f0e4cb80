import Kernels

// The blocks diffusers' VAE `Encoder` and `Decoder` are made of. No block has a time embedding,
// and every GroupNorm uses `AutoencoderKL.normEps`.

/// diffusers' `Attention` as `UNetMidBlock2D` builds it for the VAE: GroupNorm, self-attention
/// over all pixels, residual. The Encoder and Decoder pass `attention_head_dim = channels`, so
/// there is one head as wide as the block (SD: 512). diffusers then divides by
/// `rescale_output_factor`, which the VAE fixes at 1.
struct VAEAttention: Sendable {
    let groupNorm: GroupNorm
    let attention: Attention  // one head of width `channels`, biases on q, k, v and out

    init(_ w: Weights, channels: Int, groups: Int) throws {
        groupNorm = try GroupNorm(w["group_norm"], groups: groups, channels: channels, eps: AutoencoderKL.normEps)
        // SD 1.x/2.x's published `vae/` weights predate diffusers' `to_q` names.
        let naming: AttentionNaming = w.contains("query.weight") ? .diffusersLegacy : .diffusers(qkvBias: true)
        attention = try Attention(w, naming: naming, width: channels, contextWidth: nil,
                                  heads: 1, headDim: channels, causal: false)
    }

    /// x [batch, channels, h, w] → same shape
    func callAsFunction(_ x: Tensor) -> Tensor {
        let channels = x.shape[1], pixels = x.shape[2] * x.shape[3]
        let tokens = transposeLastTwo(groupNorm(x), rows: channels, cols: pixels)  // [batch, pixels, channels]
        var out = transposeLastTwo(attention(tokens), rows: pixels, cols: channels).reshaped(x.shape)
        addInPlace(&out, x)
        return out
    }
}

/// diffusers' `UNetMidBlock2D` without a time embedding: ResNet, attention (unless the config's
/// `mid_block_add_attention` is false), ResNet, all at the deepest level's width.
struct VAEMidBlock: Sendable {
    let resnet1: ResnetBlock
    let attention: VAEAttention?
    let resnet2: ResnetBlock

    init(_ w: Weights, channels: Int, groups: Int, attention: Bool) throws {
        func resnet(_ index: Int) throws -> ResnetBlock {
            try ResnetBlock(w["resnets"][index], inChannels: channels, outChannels: channels,
                            timeEmbeddingWidth: nil, groups: groups, eps: AutoencoderKL.normEps)
        }
        resnet1 = try resnet(0)
        self.attention = attention ? try VAEAttention(w["attentions"][0], channels: channels, groups: groups) : nil
        resnet2 = try resnet(1)
    }

    /// x [batch, channels, h, w] → same shape; `checkpoint` runs before each of the three parts.
    func callAsFunction(_ x: Tensor, checkpoint: () throws -> Void) rethrows -> Tensor {
        try checkpoint()
        var h = resnet1(x)
        if let attention {
            try checkpoint()
            h = attention(h)
        }
        try checkpoint()
        return resnet2(h)
    }
}

/// diffusers' `DownEncoderBlock2D`: ResNets, then (all but the last level) a stride-2 3×3
/// convolution after padding one zero row and column on the bottom and right only
/// (`Downsample2D` with padding 0), so an even side halves exactly.
struct DownEncoderBlock: Sendable {
    let resnets: [ResnetBlock]
    let downsample: Conv2d?  // [out, out, 3, 3], stride 2, pad (top 0, left 0, bottom 1, right 1)

    init(_ w: Weights, inChannels: Int, outChannels: Int, layers: Int, groups: Int, downsample: Bool) throws {
        resnets = try (0..<layers).map { i in
            try ResnetBlock(w["resnets"][i], inChannels: i == 0 ? inChannels : outChannels, outChannels: outChannels,
                            timeEmbeddingWidth: nil, groups: groups, eps: AutoencoderKL.normEps)
        }
        if downsample {
            let conv = try Conv2d(w["downsamplers.0.conv"], inChannels: outChannels, outChannels: outChannels,
                                  kernel: 3, stride: 2, padding: 0)
            self.downsample = Conv2d(weight: conv.weight, bias: conv.bias,
                                     geometry: ConvolutionGeometry(kernel: 3, stride: 2, padTop: 0, padLeft: 0,
                                                                   padBottom: 1, padRight: 1))
        } else {
            self.downsample = nil
        }
    }

    /// x [batch, in, h, w] → [batch, out, h', w'] (h' = ⌊h / 2⌋ with a downsample, else h);
    /// `checkpoint` runs before each ResNet.
    func callAsFunction(_ x: Tensor, checkpoint: () throws -> Void) rethrows -> Tensor {
        var h = x
        for resnet in resnets {
            try checkpoint()
            h = resnet(h)
        }
        return downsample.map { $0(h) } ?? h
    }
}

/// diffusers' `UpDecoderBlock2D`: ResNets, then (all but the last level) nearest 2× upsampling
/// and a 3×3 convolution (`Upsample2D`).
struct UpDecoderBlock: Sendable {
    let resnets: [ResnetBlock]
    let upsample: Conv2d?  // [out, out, 3, 3]

    init(_ w: Weights, inChannels: Int, outChannels: Int, layers: Int, groups: Int, upsample: Bool) throws {
        resnets = try (0..<layers).map { i in
            try ResnetBlock(w["resnets"][i], inChannels: i == 0 ? inChannels : outChannels, outChannels: outChannels,
                            timeEmbeddingWidth: nil, groups: groups, eps: AutoencoderKL.normEps)
        }
        self.upsample = upsample
            ? try Conv2d(w["upsamplers.0.conv"], inChannels: outChannels, outChannels: outChannels, kernel: 3)
            : nil
    }

    /// x [batch, in, h, w] → [batch, out, 2h, 2w] with an upsample, else [batch, out, h, w];
    /// `checkpoint` runs before each ResNet.
    func callAsFunction(_ x: Tensor, checkpoint: () throws -> Void) rethrows -> Tensor {
        var h = x
        for resnet in resnets {
            try checkpoint()
            h = resnet(h)
        }
        return upsample.map { $0(upsampleNearest2x(h)) } ?? h
    }
}
