import Foundation

/// diffusers' `UNet2DConditionModel` configuration (`unet/config.json`) as the Stable Diffusion
/// family releases it: SD 1.x/2.x, SD-Turbo and LCM U-Nets, SDXL and its distillations (SSD-1B,
/// Vega: per-block transformer depths, the pooled-text-and-size embedding), and the small
/// distilled SD U-Nets (BK-SDM, SDXS: fewer ResNets per level, no mid block). Anything else is
/// refused by name at load, so an exotic U-Net fails clearly instead of computing garbage.
public struct UNetConfig: Sendable, Equatable {
    public enum DownBlock: String, Sendable { case crossAttention = "CrossAttnDownBlock2D", plain = "DownBlock2D" }
    public enum UpBlock: String, Sendable { case crossAttention = "CrossAttnUpBlock2D", plain = "UpBlock2D" }
    public enum MidBlock: String, Sendable, CaseIterable {
        /// ResNet, transformer, ResNet (SD, SDXL).
        case crossAttention = "UNetMidBlock2DCrossAttn"
        /// One ResNet (SSD-1B, Vega).
        case resnet = "UNetMidBlock2D"
    }

    /// SDXL's extra conditioning (`addition_embed_type` "text_time"): the pooled text embedding and
    /// sinusoidal features of the six size/crop numbers (`add_time_ids`), through an MLP added to
    /// the time embedding.
    public struct TextTimeEmbedding: Sendable, Equatable {
        public init(timeIDWidth: Int, inputWidth: Int) {
            self.timeIDWidth = timeIDWidth
            self.inputWidth = inputWidth
        }

        /// Sinusoidal features per size/crop number (`addition_time_embed_dim`, 256 in SDXL).
        public var timeIDWidth: Int
        /// pooled width + 6 · timeIDWidth (`projection_class_embeddings_input_dim`, 2816 in SDXL).
        public var inputWidth: Int
        /// The pooled text embedding's width those two leave.
        public var pooledWidth: Int { inputWidth - Self.timeIDCount * timeIDWidth }
        /// original height, width; crop top, left; target height, width.
        public static let timeIDCount = 6
    }

    public var inChannels = 4
    public var outChannels = 4
    public var blockOutChannels = [320, 640, 1280, 1280]
    /// ResNets per down level; the mirroring up block has one more.
    public var layersPerBlock = [2, 2, 2, 2]
    public var downBlocks: [DownBlock] = [.crossAttention, .crossAttention, .crossAttention, .plain]
    public var upBlocks: [UpBlock] = [.plain, .crossAttention, .crossAttention, .crossAttention]
    /// Transformer blocks in each cross-attention layer: per down level, one count per ResNet.
    public var transformerDepth: [[Int]] = Array(repeating: [1, 1], count: 4)
    /// The same for the up blocks (index 0 is the deepest), one count per ResNet.
    public var upTransformerDepth: [[Int]] = Array(repeating: [1, 1, 1], count: 4)
    /// Per down level: its transformers attend to the text in their first attention too
    /// (`only_cross_attention`; SDXS's top level). The up blocks mirror it.
    public var onlyCrossAttention = [false, false, false, false]
    /// nil: the deepest level's output goes straight to the up blocks (BK-SDM small and tiny).
    public var midBlock: MidBlock? = .crossAttention
    public var midTransformerDepth = 1
    public var crossAttentionDim = 768
    /// Attention heads per down level (diffusers' historical `attention_head_dim` means heads).
    public var heads = [8, 8, 8, 8]
    public var useLinearProjection = false
    public var normGroups = 32
    public var normEps: Float = 1e-5
    public var flipSinToCos = true
    public var freqShift: Float = 0
    /// LCM-distilled U-Nets embed the guidance scale too (`time_cond_proj_dim`, e.g. 256).
    public var timeConditionDim: Int?
    public var textTimeEmbedding: TextTimeEmbedding?
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

    /// Sets `layersPerBlock` and every transformer depth to one count: the shape of SD 1.x/2.x,
    /// whose depths are all 1.
    public mutating func setUniformLayers(_ layers: Int, levels: Int, transformerDepth depth: Int = 1) {
        layersPerBlock = Array(repeating: layers, count: levels)
        transformerDepth = Array(repeating: Array(repeating: depth, count: layers), count: levels)
        upTransformerDepth = Array(repeating: Array(repeating: depth, count: layers + 1), count: levels)
        midTransformerDepth = depth
    }

    public init(contentsOf url: URL) throws {
        let json = try ConfigJSON(contentsOf: url)
        // Features of other U-Nets (Kandinsky, ControlNet-style, upscalers, UnCLIP): refuse rather than ignore.
        for key in ["class_embed_type", "encoder_hid_dim", "encoder_hid_dim_type", "time_embedding_act_fn",
                    "timestep_post_act", "num_class_embeds", "time_embedding_dim", "cross_attention_norm"] {
            if let value = json.value(key) { throw json.fail("'\(key)' = \(value.text) is not supported") }
        }
        for (key, supported) in [("dual_cross_attention", false), ("center_input_sample", false),
                                 ("class_embeddings_concat", false), ("resnet_skip_time_act", false)] {
            if let value = try json.bool(key), value != supported { throw json.fail("'\(key)' = \(value) is not supported") }
        }
        for (key, supported) in [("resnet_time_scale_shift", "default"), ("time_embedding_type", "positional"),
                                 ("act_fn", "silu"), ("attention_type", "default")] {
            if let value = try json.string(key), value != supported {
                throw json.fail("'\(key)' = \"\(value)\" is not supported (only \"\(supported)\")")
            }
        }
        for (key, value) in [("mid_block_scale_factor", 1.0), ("resnet_out_scale_factor", 1.0), ("downsample_padding", 1.0)] {
            if let actual = try json.double(key), actual != value { throw json.fail("'\(key)' = \(actual) is not supported") }
        }
        for (key, kernel) in [("conv_in_kernel", 3), ("conv_out_kernel", 3)] {
            if let k = try json.int(key), k != kernel { throw json.fail("'\(key)' = \(k) is not supported") }
        }

        inChannels = try json.int("in_channels") ?? inChannels
        outChannels = try json.int("out_channels") ?? outChannels
        blockOutChannels = try json.ints("block_out_channels") ?? blockOutChannels
        let levels = blockOutChannels.count
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
        guard downBlocks.count == levels, upBlocks.count == levels else {
            throw json.fail("block_out_channels has \(levels) levels but down_block_types \(downBlocks.count), "
                            + "up_block_types \(upBlocks.count)")
        }
        // `mid_block_type: null` removes the mid block; an absent key keeps diffusers' default.
        switch json.object["mid_block_type"] {
        case nil: midBlock = .crossAttention
        case .null?: midBlock = nil
        default: midBlock = try json.choice("mid_block_type")
        }
        switch json.value("only_cross_attention") {
        case nil: onlyCrossAttention = Array(repeating: false, count: levels)
        case .bool(let flag)?: onlyCrossAttention = Array(repeating: flag, count: levels)
        case .array(let items)? where items.count == levels && items.allSatisfy({ if case .bool = $0 { true } else { false } }):
            onlyCrossAttention = items.map { $0 == .bool(true) }
        case let value?: throw json.fail("'only_cross_attention' = \(value.text) is not true, false or one per level")
        }

        // Per-level values: one number for all levels, or one per level.
        func perLevel(_ key: String, _ values: [Int]?) throws -> [Int]? {
            guard let values else { return nil }
            if values.count == 1 { return Array(repeating: values[0], count: levels) }
            guard values.count == levels else {
                throw json.fail("'\(key)' has \(values.count) entries for \(levels) levels")
            }
            return values
        }
        layersPerBlock = try perLevel("layers_per_block", json.ints("layers_per_block"))
            ?? Array(repeating: 2, count: levels)
        guard layersPerBlock.allSatisfy({ $0 > 0 }) else { throw json.fail("'layers_per_block' must be positive") }
        try readTransformerDepths(json, levels: levels)

        let contextWidths = try json.ints("cross_attention_dim") ?? [crossAttentionDim]
        guard let contextWidth = contextWidths.first, contextWidths.allSatisfy({ $0 == contextWidth }) else {
            throw json.fail("'cross_attention_dim' = \(contextWidths) differs per block, which is not supported")
        }
        crossAttentionDim = contextWidth
        // diffusers: num_attention_heads defaults to attention_head_dim, which (despite its name)
        // has always been the head count in SD configs.
        heads = try perLevel("attention_head_dim", json.ints("num_attention_heads") ?? json.ints("attention_head_dim"))
            ?? Array(repeating: 8, count: levels)
        useLinearProjection = try json.bool("use_linear_projection") ?? false
        normGroups = try json.int("norm_num_groups") ?? normGroups
        normEps = try json.float("norm_eps") ?? normEps
        flipSinToCos = try json.bool("flip_sin_to_cos") ?? true
        freqShift = try json.float("freq_shift") ?? 0
        timeConditionDim = try json.int("time_cond_proj_dim")
        sampleSize = try json.int("sample_size") ?? sampleSize

        switch try json.string("addition_embed_type") {
        case nil:
            if let value = json.value("projection_class_embeddings_input_dim") {
                throw json.fail("'projection_class_embeddings_input_dim' = \(value.text) is not supported without a class embedding")
            }
        case "text_time":
            guard let timeIDWidth = try json.int("addition_time_embed_dim"), timeIDWidth > 0, timeIDWidth % 2 == 0,
                  let inputWidth = try json.int("projection_class_embeddings_input_dim") else {
                throw json.fail("'addition_embed_type' \"text_time\" needs an even 'addition_time_embed_dim' "
                                + "and 'projection_class_embeddings_input_dim'")
            }
            textTimeEmbedding = TextTimeEmbedding(timeIDWidth: timeIDWidth, inputWidth: inputWidth)
            guard textTimeEmbedding!.pooledWidth > 0 else {
                throw json.fail("'projection_class_embeddings_input_dim' \(inputWidth) leaves no room for a pooled text "
                                + "embedding beside 6 × \(timeIDWidth) size features")
            }
        case let other?:
            throw json.fail("'addition_embed_type' = \"\(other)\" is not supported (only \"text_time\")")
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

    /// `transformer_layers_per_block` as diffusers reads it: one number for every layer, one per
    /// level, or (SSD-1B, Vega) one list per level with a count per ResNet, in which case the up
    /// blocks' counts come from `reverse_transformer_layers_per_block`; otherwise the up blocks
    /// mirror the down levels. The mid block takes the deepest level's (first) count.
    private mutating func readTransformerDepths(_ json: ConfigJSON, levels: Int) throws {
        let key = "transformer_layers_per_block", reverseKey = "reverse_transformer_layers_per_block"
        /// A level's entry: a number for every ResNet, or a list with one per ResNet.
        func counts(_ entry: JSONValue, resnets: Int, _ key: String) throws -> [Int] {
            if let count = entry.integer, count > 0 { return Array(repeating: count, count: resnets) }
            let counts: [Int]
            if case .array(let items) = entry { counts = items.compactMap(\.integer) } else { counts = [] }
            guard counts.count == resnets, counts.allSatisfy({ $0 > 0 }) else {
                throw json.fail("'\(key)' entry \(entry.text) is not a positive count or a list of \(resnets)")
            }
            return counts
        }
        /// The value as one entry per level.
        func levelEntries(_ key: String) throws -> [JSONValue]? {
            guard let value = json.value(key) else { return nil }
            if value.integer != nil { return Array(repeating: value, count: levels) }
            guard case .array(let entries) = value, entries.count == levels else {
                throw json.fail("'\(key)' = \(value.text) is not a count or \(levels) per-level entries")
            }
            return entries
        }
        let down = try levelEntries(key) ?? Array(repeating: .number(1), count: levels)
        transformerDepth = try (0..<levels).map { try counts(down[$0], resnets: layersPerBlock[$0], key) }
        midTransformerDepth = transformerDepth[levels - 1][0]
        if let reverse = try levelEntries(reverseKey) {
            upTransformerDepth = try (0..<levels).map {
                try counts(reverse[$0], resnets: layersPerBlock[levels - 1 - $0] + 1, reverseKey)
            }
        } else {
            if down.contains(where: { $0.integer == nil }) {
                throw json.fail("'\(key)' with per-ResNet lists needs '\(reverseKey)' (as diffusers requires)")
            }
            upTransformerDepth = (0..<levels).map { index in
                let level = levels - 1 - index
                return Array(repeating: transformerDepth[level][0], count: layersPerBlock[level] + 1)
            }
        }
    }
}
