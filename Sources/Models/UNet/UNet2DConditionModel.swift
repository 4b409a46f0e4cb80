import Foundation
import Kernels

/// diffusers' `UNet2DConditionModel` for SD 1.x / 2.x / Turbo / LCM: predicts the noise (or v) in
/// latents at a timestep, conditioned on text states through cross-attention.
///
///     conv_in → down blocks (ResNets [+ transformers], downsample) → mid block
///             → up blocks (ResNets on [h ‖ skip] [+ transformers], upsample) → GroupNorm·SiLU → conv_out
public struct UNet2DConditionModel: Sendable {
    public let config: UNetConfig

    struct DownBlock: Sendable {
        let resnets: [ResnetBlock]
        let transformers: [SpatialTransformer]  // empty for DownBlock2D
        let downsample: Conv2d?                 // 3×3 stride 2, all but the last level
    }

    struct UpBlock: Sendable {
        let resnets: [ResnetBlock]
        let transformers: [SpatialTransformer]
        let upsample: Conv2d?                   // nearest 2× then 3×3, all but the last level
    }

    let timeEmbedding: (linear1: Linear, linear2: Linear, condition: Linear?)
    let convIn: Conv2d
    let downBlocks: [DownBlock]
    let mid: (resnet1: ResnetBlock, transformer: SpatialTransformer, resnet2: ResnetBlock)
    let upBlocks: [UpBlock]
    let normOut: GroupNorm
    let convOut: Conv2d

    public init(_ w: Weights, config c: UNetConfig) throws {
        config = c
        let channels = c.blockOutChannels, levels = channels.count
        let timeWidth = channels[0] * 4
        let groups = c.normGroups, eps = c.normEps
        timeEmbedding = (
            linear1: try Linear(w["time_embedding.linear_1"], inFeatures: channels[0], outFeatures: timeWidth),
            linear2: try Linear(w["time_embedding.linear_2"], inFeatures: timeWidth, outFeatures: timeWidth),
            condition: try c.timeConditionDim.map {
                try Linear(w["time_embedding.cond_proj"], inFeatures: $0, outFeatures: channels[0], bias: false)
            })
        convIn = try Conv2d(w["conv_in"], inChannels: c.inChannels, outChannels: channels[0], kernel: 3)

        func transformer(_ w: Weights, _ level: Int) throws -> SpatialTransformer {
            try SpatialTransformer(w, channels: channels[level], heads: c.heads[level],
                                   contextWidth: c.crossAttentionDim, groups: groups,
                                   linearProjection: c.useLinearProjection)
        }

        var downBlocks: [DownBlock] = []
        var skipChannels = [channels[0]]  // channels of each skip connection, in push order
        for level in 0..<levels {
            let block = w["down_blocks"][level]
            var resnets: [ResnetBlock] = [], transformers: [SpatialTransformer] = []
            for i in 0..<c.layersPerBlock {
                let input = i == 0 ? (level == 0 ? channels[0] : channels[level - 1]) : channels[level]
                resnets.append(try ResnetBlock(block["resnets"][i], inChannels: input, outChannels: channels[level],
                                               timeEmbeddingWidth: timeWidth, groups: groups, eps: eps))
                if c.downBlocks[level] == .crossAttention {
                    transformers.append(try transformer(block["attentions"][i], level))
                }
                skipChannels.append(channels[level])
            }
            var downsample: Conv2d?
            if level < levels - 1 {
                downsample = try Conv2d(block["downsamplers.0.conv"], inChannels: channels[level],
                                        outChannels: channels[level], kernel: 3, stride: 2, padding: 1)
                skipChannels.append(channels[level])
            }
            downBlocks.append(DownBlock(resnets: resnets, transformers: transformers, downsample: downsample))
        }
        self.downBlocks = downBlocks

        let deepest = channels[levels - 1]
        mid = (
            resnet1: try ResnetBlock(w["mid_block.resnets.0"], inChannels: deepest, outChannels: deepest,
                                     timeEmbeddingWidth: timeWidth, groups: groups, eps: eps),
            transformer: try transformer(w["mid_block.attentions.0"], levels - 1),
            resnet2: try ResnetBlock(w["mid_block.resnets.1"], inChannels: deepest, outChannels: deepest,
                                     timeEmbeddingWidth: timeWidth, groups: groups, eps: eps))

        var upBlocks: [UpBlock] = []
        var previous = deepest
        for index in 0..<levels {
            let level = levels - 1 - index  // up block `index` mirrors down level `level`
            let block = w["up_blocks"][index]
            var resnets: [ResnetBlock] = [], transformers: [SpatialTransformer] = []
            for i in 0...c.layersPerBlock {
                let input = (i == 0 ? previous : channels[level]) + skipChannels.removeLast()
                resnets.append(try ResnetBlock(block["resnets"][i], inChannels: input, outChannels: channels[level],
                                               timeEmbeddingWidth: timeWidth, groups: groups, eps: eps))
                if c.upBlocks[index] == .crossAttention {
                    transformers.append(try transformer(block["attentions"][i], level))
                }
            }
            let upsample = index < levels - 1
                ? try Conv2d(block["upsamplers.0.conv"], inChannels: channels[level], outChannels: channels[level], kernel: 3)
                : nil
            upBlocks.append(UpBlock(resnets: resnets, transformers: transformers, upsample: upsample))
            previous = channels[level]
        }
        self.upBlocks = upBlocks
        normOut = try GroupNorm(w["conv_norm_out"], groups: groups, channels: channels[0], eps: eps)
        convOut = try Conv2d(w["conv_out"], inChannels: channels[0], outChannels: c.outChannels, kernel: 3)
    }

    /// Predicts the model output for `sample` [batch, in, h, w] at `timestep`, conditioned on
    /// `context` [batch, tokens, crossAttentionDim]. `timeCondition` [batch, timeConditionDim] is the
    /// guidance embedding of LCM-distilled U-Nets. `isCancelled` is polled between blocks; when it
    /// returns true the call throws `CancellationError` within one block's time.
    public func callAsFunction(_ sample: Tensor, timestep: Float, context: Tensor, timeCondition: Tensor? = nil,
                               isCancelled: () -> Bool = { false }) throws -> Tensor {
        let batch = sample.shape[0]
        precondition(context.shape[0] == batch, "context batch \(context.shape[0]) ≠ sample batch \(batch)")
        func checkpoint() throws { if isCancelled() { throw CancellationError() } }

        // Time embedding: sinusoidal features → MLP; every ResNet takes silu(temb).
        var features = timestepFeatures(timestep, width: config.blockOutChannels[0], batch: batch)
        if let condition = timeEmbedding.condition {
            guard let timeCondition else { preconditionFailure("this U-Net needs a time condition (time_cond_proj_dim)") }
            addInPlace(&features, condition(timeCondition))
        }
        var temb = timeEmbedding.linear1(features)
        activate(&temb, .silu)
        temb = timeEmbedding.linear2(temb)
        activate(&temb, .silu)

        var h = convIn(sample)
        var skips = [h]
        for block in downBlocks {
            for (i, resnet) in block.resnets.enumerated() {
                try checkpoint()
                h = resnet(h, activatedTime: temb)
                if !block.transformers.isEmpty { h = block.transformers[i](h, context: context) }
                skips.append(h)
            }
            if let downsample = block.downsample {
                h = downsample(h)
                skips.append(h)
            }
        }
        try checkpoint()
        h = mid.resnet2(mid.transformer(mid.resnet1(h, activatedTime: temb), context: context), activatedTime: temb)
        for block in upBlocks {
            for (i, resnet) in block.resnets.enumerated() {
                try checkpoint()
                h = resnet(concatenateChannels(h, skips.removeLast()), activatedTime: temb)
                if !block.transformers.isEmpty { h = block.transformers[i](h, context: context) }
            }
            if let upsample = block.upsample {
                // A latent side that is not a multiple of 8 was rounded up on the way down:
                // upsample to the skip's size, as diffusers does with `upsample_size`.
                let target = skips.last!.shape
                h = upsample(upsampleNearest(h, height: target[2], width: target[3]))
            }
        }
        try checkpoint()
        return convOut(h, normalizedBy: normOut, activation: .silu)
    }

    /// diffusers' `get_timestep_embedding` in float32: exp(−ln(10000)·i / (half − shift)) · t, then
    /// [sin ‖ cos] (or [cos ‖ sin] with flip_sin_to_cos). → [batch, width]
    func timestepFeatures(_ t: Float, width: Int, batch: Int) -> Tensor {
        let half = width / 2
        var row = [Float](repeating: 0, count: width)
        for i in 0..<half {
            let exponent = Float(-log(10000.0)) * Float(i) / (Float(half) - config.freqShift)
            let angle = t * Foundation.exp(exponent)
            let (sine, cosine) = (Foundation.sin(angle), Foundation.cos(angle))
            row[i] = config.flipSinToCos ? cosine : sine
            row[half + i] = config.flipSinToCos ? sine : cosine
        }
        return Tensor(shape: [batch, width], data: Array([[Float]](repeating: row, count: batch).joined()))
    }
}

extension UNet2DConditionModel {
    /// Loads a diffusers `unet/` folder: `config.json` and its `.safetensors` weights, its weight matrices kept in `precision`.
    public init(folder: URL, precision: Precision = .fp32) throws {
        let config = try UNetConfig(contentsOf: folder.appendingPathComponent("config.json"))
        try self.init(Weights(try ShardedStore(folder: folder), precision: precision), config: config)
    }
}
