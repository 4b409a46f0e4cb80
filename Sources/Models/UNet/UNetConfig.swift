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
        let fail = { (reason: String) in ConfigError(file: url.path, reason: reason) }
        guard let data = FileManager.default.contents(atPath: url.path) else { throw fail("cannot read the file") }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw fail("not a JSON object")
        }
        func int(_ key: String) throws -> Int? {
            guard let value = json[key], !(value is NSNull) else { return nil }
            guard let n = value as? Int else { throw fail("'\(key)' must be an integer, got \(value)") }
            return n
        }
        func ints(_ key: String) throws -> [Int]? {
            guard let value = json[key], !(value is NSNull) else { return nil }
            if let n = value as? Int { return [n] }
            guard let list = value as? [Int] else { throw fail("'\(key)' must be an integer or a list, got \(value)") }
            return list
        }
        func strings(_ key: String) throws -> [String]? {
            guard let value = json[key], !(value is NSNull) else { return nil }
            guard let list = value as? [String] else { throw fail("'\(key)' must be a list of names") }
            return list
        }
        // Features of other U-Nets (SDXL, ControlNet-style, upscalers): refuse rather than ignore.
        for key in ["class_embed_type", "addition_embed_type", "encoder_hid_dim", "time_embedding_act_fn",
                    "timestep_post_act", "num_class_embeds", "projection_class_embeddings_input_dim"] {
            if let value = json[key], !(value is NSNull) { throw fail("'\(key)' = \(value) is not supported") }
        }
        for (key, supported) in [("dual_cross_attention", false), ("only_cross_attention", false),
                                 ("center_input_sample", false)] {
            if let value = json[key] as? Bool, value != supported { throw fail("'\(key)' = \(value) is not supported") }
        }
        for (key, supported) in [("resnet_time_scale_shift", "default"), ("time_embedding_type", "positional"),
                                 ("act_fn", "silu"), ("mid_block_type", "UNetMidBlock2DCrossAttn"),
                                 ("attention_type", "default")] {
            if let value = json[key] as? String, value != supported {
                throw fail("'\(key)' = \"\(value)\" is not supported (only \"\(supported)\")")
            }
        }
        if let layers = try ints("transformer_layers_per_block"), layers.contains(where: { $0 != 1 }) {
            throw fail("'transformer_layers_per_block' = \(layers) is not supported (only 1)")
        }
        for (key, kernel) in [("conv_in_kernel", 3), ("conv_out_kernel", 3)] {
            if let k = try int(key), k != kernel { throw fail("'\(key)' = \(k) is not supported") }
        }

        inChannels = try int("in_channels") ?? inChannels
        outChannels = try int("out_channels") ?? outChannels
        blockOutChannels = try ints("block_out_channels") ?? blockOutChannels
        layersPerBlock = try int("layers_per_block") ?? layersPerBlock
        if let names = try strings("down_block_types") {
            downBlocks = try names.map { name in
                guard let block = DownBlock(rawValue: name) else { throw fail("down block '\(name)' is not supported") }
                return block
            }
        }
        if let names = try strings("up_block_types") {
            upBlocks = try names.map { name in
                guard let block = UpBlock(rawValue: name) else { throw fail("up block '\(name)' is not supported") }
                return block
            }
        }
        crossAttentionDim = try int("cross_attention_dim") ?? crossAttentionDim
        // diffusers: num_attention_heads defaults to attention_head_dim, which (despite its name)
        // has always been the head count in SD configs.
        let headList = try ints("num_attention_heads") ?? ints("attention_head_dim") ?? [8]
        heads = headList.count == 1 ? Array(repeating: headList[0], count: blockOutChannels.count) : headList
        useLinearProjection = json["use_linear_projection"] as? Bool ?? false
        normGroups = try int("norm_num_groups") ?? normGroups
        normEps = (json["norm_eps"] as? NSNumber)?.floatValue ?? normEps
        flipSinToCos = json["flip_sin_to_cos"] as? Bool ?? true
        freqShift = (json["freq_shift"] as? NSNumber)?.floatValue ?? 0
        timeConditionDim = try int("time_cond_proj_dim")
        sampleSize = try int("sample_size") ?? sampleSize

        let levels = blockOutChannels.count
        guard downBlocks.count == levels, upBlocks.count == levels, heads.count == levels else {
            throw fail("block_out_channels has \(levels) levels but down_block_types \(downBlocks.count), "
                       + "up_block_types \(upBlocks.count), heads \(heads.count)")
        }
        for (level, channels) in blockOutChannels.enumerated() {
            guard channels % normGroups == 0 else {
                throw fail("block_out_channels[\(level)] = \(channels) is not divisible by norm_num_groups \(normGroups)")
            }
            guard channels % heads[level] == 0 else {
                throw fail("block_out_channels[\(level)] = \(channels) does not split into \(heads[level]) heads")
            }
        }
    }
}
