import Foundation

/// diffusers' `UNet2DConditionModel` configuration (`unet/config.json`), restricted to what SD 1.x,
/// SD 2.x, SD-Turbo and LCM-distilled U-Nets use. Anything else is refused by name at load, so an
/// SDXL or an exotic U-Net fails clearly instead of computing garbage.
public struct UNetConfig: Sendable, Equatable {
    public enum DownBlock: String, Sendable { case crossAttention = "CrossAttnDownBlock2D", plain = "DownBlock2D" }
    public enum UpBlock: String, Sendable { case crossAttention = "CrossAttnUpBlock2D", plain = "UpBlock2D" }

    public var inChannels = 4
    public var outChannels = 4
    public var blockOutChannels = [320, 640, 1280, 1280]
    public var layersPerBlock = 2
    public var downBlocks: [DownBlock] = [.crossAttention, .crossAttention, .crossAttention, .plain]
    public var upBlocks: [UpBlock] = [.plain, .crossAttention, .crossAttention, .crossAttention]
    public var crossAttentionDim = 768
    /// Attention heads per down block (diffusers' historical `attention_head_dim` means heads).
    public var heads = [8, 8, 8, 8]
    public var useLinearProjection = false
    public var normGroups = 32
    public var normEps: Float = 1e-5
    public var flipSinToCos = true
    public var freqShift: Float = 0
    /// LCM-distilled U-Nets embed the guidance scale too (`time_cond_proj_dim`, e.g. 256).
    public var timeConditionDim: Int?
    public var sampleSize = 64

    /// SD 1.x (stable-diffusion-v1-5/unet/config.json).
    public static let sd15 = UNetConfig()

    /// SD 2.x and SD-Turbo (stable-diffusion-2-1/unet/config.json, sd-turbo/unet/config.json):
    /// 1024-wide text, 64-dim heads, linear projections.
    public static let sd21: UNetConfig = {
        var c = UNetConfig()
        c.crossAttentionDim = 1024
        c.heads = [5, 10, 20, 20]
        c.useLinearProjection = true
        c.sampleSize = 96
        return c
    }()

    public init() {}

    public init(contentsOf url: URL) throws {
        let json = try ConfigJSON(contentsOf: url)
        // Features of other U-Nets (SDXL, ControlNet-style, upscalers): refuse rather than ignore.
        for key in ["class_embed_type", "addition_embed_type", "encoder_hid_dim", "time_embedding_act_fn",
                    "timestep_post_act", "num_class_embeds", "projection_class_embeddings_input_dim"] {
            if let value = json.value(key) { throw json.fail("'\(key)' = \(value.text) is not supported") }
        }
        for (key, supported) in [("dual_cross_attention", false), ("only_cross_attention", false),
                                 ("center_input_sample", false)] {
            if let value = try json.bool(key), value != supported { throw json.fail("'\(key)' = \(value) is not supported") }
        }
        for (key, supported) in [("resnet_time_scale_shift", "default"), ("time_embedding_type", "positional"),
                                 ("act_fn", "silu"), ("mid_block_type", "UNetMidBlock2DCrossAttn"),
                                 ("attention_type", "default")] {
            if let value = try json.string(key), value != supported {
                throw json.fail("'\(key)' = \"\(value)\" is not supported (only \"\(supported)\")")
            }
        }
        if let layers = try json.ints("transformer_layers_per_block"), layers.contains(where: { $0 != 1 }) {
            throw json.fail("'transformer_layers_per_block' = \(layers) is not supported (only 1)")
        }
        for (key, kernel) in [("conv_in_kernel", 3), ("conv_out_kernel", 3)] {
            if let k = try json.int(key), k != kernel { throw json.fail("'\(key)' = \(k) is not supported") }
        }

        inChannels = try json.int("in_channels") ?? inChannels
        outChannels = try json.int("out_channels") ?? outChannels
        blockOutChannels = try json.ints("block_out_channels") ?? blockOutChannels
        layersPerBlock = try json.int("layers_per_block") ?? layersPerBlock
        if let names = try json.strings("down_block_types") {
            downBlocks = try names.map { name in
                guard let block = DownBlock(rawValue: name) else { throw json.fail("down block '\(name)' is not supported") }
                return block
            }
        }
        if let names = try json.strings("up_block_types") {
            upBlocks = try names.map { name in
                guard let block = UpBlock(rawValue: name) else { throw json.fail("up block '\(name)' is not supported") }
                return block
            }
        }
        crossAttentionDim = try json.int("cross_attention_dim") ?? crossAttentionDim
        // diffusers: num_attention_heads defaults to attention_head_dim, which (despite its name)
        // has always been the head count in SD configs.
        let headList = try json.ints("num_attention_heads") ?? json.ints("attention_head_dim") ?? [8]
        heads = headList.count == 1 ? Array(repeating: headList[0], count: blockOutChannels.count) : headList
        useLinearProjection = try json.bool("use_linear_projection") ?? false
        normGroups = try json.int("norm_num_groups") ?? normGroups
        normEps = try json.float("norm_eps") ?? normEps
        flipSinToCos = try json.bool("flip_sin_to_cos") ?? true
        freqShift = try json.float("freq_shift") ?? 0
        timeConditionDim = try json.int("time_cond_proj_dim")
        sampleSize = try json.int("sample_size") ?? sampleSize

        let levels = blockOutChannels.count
        guard downBlocks.count == levels, upBlocks.count == levels, heads.count == levels else {
            throw json.fail("block_out_channels has \(levels) levels but down_block_types \(downBlocks.count), "
                       + "up_block_types \(upBlocks.count), heads \(heads.count)")
        }
        for (level, channels) in blockOutChannels.enumerated() {
            guard channels % normGroups == 0 else {
                throw json.fail("block_out_channels[\(level)] = \(channels) is not divisible by norm_num_groups \(normGroups)")
            }
            guard channels % heads[level] == 0 else {
                throw json.fail("block_out_channels[\(level)] = \(channels) does not split into \(heads[level]) heads")
            }
        }
    }
}
