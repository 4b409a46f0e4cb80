import Foundation
import Kernels

/// diffusers' `UNet2DConditionModel` for the SD family (see `UNetConfig`): predicts the noise (or
/// v) in latents at a timestep, conditioned on text states through cross-attention (and for SDXL
/// on a pooled text embedding and the image's size and crop, added to the time embedding).
///
///     conv_in → down blocks (ResNets [+ transformers], downsample) → [mid block]
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
    /// SDXL's `add_embedding`: [pooled text ‖ size/crop features] → the time embedding's width.
    let textTimeEmbedding: (linear1: Linear, linear2: Linear)?
    let convIn: Conv2d
    let downBlocks: [DownBlock]
    /// ResNet [→ transformer → ResNet], or nothing (`UNetConfig.midBlock`).
    let mid: (resnets: [ResnetBlock], transformer: SpatialTransformer?)?
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
        textTimeEmbedding = try c.textTimeEmbedding.map {
            (linear1: try Linear(w["add_embedding.linear_1"], inFeatures: $0.inputWidth, outFeatures: timeWidth),
             linear2: try Linear(w["add_embedding.linear_2"], inFeatures: timeWidth, outFeatures: timeWidth))
        }
        convIn = try Conv2d(w["conv_in"], inChannels: c.inChannels, outChannels: channels[0], kernel: 3)

        func transformer(_ w: Weights, _ level: Int, depth: Int, onlyCrossAttention: Bool = false) throws
            -> SpatialTransformer {
            try SpatialTransformer(w, channels: channels[level], heads: c.heads[level],
                                   contextWidth: c.crossAttentionDim, groups: groups,
                                   linearProjection: c.useLinearProjection, depth: depth,
                                   onlyCrossAttention: onlyCrossAttention)
        }

        var downBlocks: [DownBlock] = []
        var skipChannels = [channels[0]]  // channels of each skip connection, in push order
        for level in 0..<levels {
            let block = w["down_blocks"][level]
            var resnets: [ResnetBlock] = [], transformers: [SpatialTransformer] = []
            for i in 0..<c.layersPerBlock[level] {
                let input = i == 0 ? (level == 0 ? channels[0] : channels[level - 1]) : channels[level]
                resnets.append(try ResnetBlock(block["resnets"][i], inChannels: input, outChannels: channels[level],
                                               timeEmbeddingWidth: timeWidth, groups: groups, eps: eps))
                if c.downBlocks[level] == .crossAttention {
                    transformers.append(try transformer(block["attentions"][i], level, depth: c.transformerDepth[level][i],
                                                        onlyCrossAttention: c.onlyCrossAttention[level]))
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
        func midResnet(_ index: Int) throws -> ResnetBlock {
            try ResnetBlock(w["mid_block.resnets"][index], inChannels: deepest, outChannels: deepest,
                            timeEmbeddingWidth: timeWidth, groups: groups, eps: eps)
        }
        switch c.midBlock {
        case .crossAttention?:
            mid = (resnets: [try midResnet(0), try midResnet(1)],
                   transformer: try transformer(w["mid_block.attentions.0"], levels - 1, depth: c.midTransformerDepth))
        case .resnet?: mid = (resnets: [try midResnet(0)], transformer: nil)
        case nil: mid = nil
        }

        var upBlocks: [UpBlock] = []
        var previous = deepest
        for index in 0..<levels {
            let level = levels - 1 - index  // up block `index` mirrors down level `level`
            let block = w["up_blocks"][index]
            var resnets: [ResnetBlock] = [], transformers: [SpatialTransformer] = []
            for i in 0...c.layersPerBlock[level] {
                let input = (i == 0 ? previous : channels[level]) + skipChannels.removeLast()
                resnets.append(try ResnetBlock(block["resnets"][i], inChannels: input, outChannels: channels[level],
                                               timeEmbeddingWidth: timeWidth, groups: groups, eps: eps))
                if c.upBlocks[index] == .crossAttention {
                    transformers.append(try transformer(block["attentions"][i], level, depth: c.upTransformerDepth[index][i],
                                                        onlyCrossAttention: c.onlyCrossAttention[level]))
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
    /// guidance embedding of LCM-distilled U-Nets; `textTime` the pooled text and size/crop numbers
    /// of SDXL-style U-Nets. `isCancelled` is polled between blocks; when it returns true the call
    /// throws `CancellationError` within one block's time.
    public func callAsFunction(_ sample: Tensor, timestep: Float, context: Tensor, timeCondition: Tensor? = nil,
                               textTime: TextTimeCondition? = nil,
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
        if let textTimeEmbedding, let layout = config.textTimeEmbedding {
            guard let textTime else { preconditionFailure("this U-Net needs the pooled text and size/crop numbers") }
            precondition(textTime.pooled.shape == [batch, layout.pooledWidth],
                         "pooled text \(textTime.pooled.shape) ≠ [\(batch), \(layout.pooledWidth)]")
            precondition(textTime.timeIDs.count == batch
                         && textTime.timeIDs.allSatisfy { $0.count == UNetConfig.TextTimeEmbedding.timeIDCount },
                         "size/crop numbers: \(UNetConfig.TextTimeEmbedding.timeIDCount) per sample needed")
            var added = textTimeFeatures(textTime, width: layout.timeIDWidth)
            added = textTimeEmbedding.linear1(added)
            activate(&added, .silu)
            addInPlace(&temb, textTimeEmbedding.linear2(added))
        }
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
        if let mid {
            try checkpoint()
            h = mid.resnets[0](h, activatedTime: temb)
            if let transformer = mid.transformer {
                h = mid.resnets[1](transformer(h, context: context), activatedTime: temb)
            }
        }
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
        let row = sinusoidalFeatures(t, width: width)
        return Tensor(shape: [batch, width], data: Array([[Float]](repeating: row, count: batch).joined()))
    }

    private func sinusoidalFeatures(_ t: Float, width: Int) -> [Float] {
        let half = width / 2
        var row = [Float](repeating: 0, count: width)
        for i in 0..<half {
            let exponent = Float(-log(10000.0)) * Float(i) / (Float(half) - config.freqShift)
            let angle = t * Foundation.exp(exponent)
            let (sine, cosine) = (Foundation.sin(angle), Foundation.cos(angle))
            row[i] = config.flipSinToCos ? cosine : sine
            row[half + i] = config.flipSinToCos ? sine : cosine
        }
        return row
    }

    /// SDXL's `add_embedding` input: per sample, the pooled text, then the sinusoidal features of
    /// each size/crop number (`add_time_proj`, the time embedding's frequencies at `width`).
    /// → [batch, pooled + 6 · width]
    func textTimeFeatures(_ condition: TextTimeCondition, width: Int) -> Tensor {
        let batch = condition.pooled.shape[0], pooledWidth = condition.pooled.shape[1]
        var data: [Float] = []
        data.reserveCapacity(batch * (pooledWidth + condition.timeIDs[0].count * width))
        for b in 0..<batch {
            data.append(contentsOf: condition.pooled.data[b * pooledWidth ..< (b + 1) * pooledWidth])
            for id in condition.timeIDs[b] { data.append(contentsOf: sinusoidalFeatures(id, width: width)) }
        }
        return Tensor(shape: [batch, data.count / batch], data: data)
    }
}

/// What an SDXL-style U-Net (`UNetConfig.textTimeEmbedding`) is conditioned on besides the text
/// states, for each sample of a batch.
public struct TextTimeCondition: Sendable {
    /// The second text encoder's projected pooled embedding. [batch, pooled width]
    public var pooled: Tensor
    /// diffusers' `add_time_ids`: original height, width; crop top, left; target height, width.
    public var timeIDs: [[Float]]

    public init(pooled: Tensor, timeIDs: [[Float]]) {
        self.pooled = pooled
        self.timeIDs = timeIDs
    }
}

extension UNet2DConditionModel {
    /// Loads a diffusers `unet/` folder: `config.json` and its `.safetensors` weights, its weight matrices kept in `precision`.
    public init(folder: URL, precision: Precision = .fp32) throws {
        let config = try UNetConfig(contentsOf: folder.appendingPathComponent("config.json"))
        try self.init(Weights(try ShardedStore(folder: folder), precision: precision), config: config)
    }
}
