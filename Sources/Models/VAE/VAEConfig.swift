import Foundation

/// diffusers' `AutoencoderKL` configuration (`vae/config.json`). A key the file omits takes
/// diffusers' constructor default, as `from_pretrained` would; SD 1.x/2.x's own file reads
/// block_out_channels [128, 256, 512, 512], layers_per_block 2, scaling_factor 0.18215.
///
/// Only the encoder/decoder blocks SD uses are built; anything else is refused by name.
public struct AutoencoderKLConfig: Sendable, Equatable {
    public var inChannels = 3
    public var outChannels = 3
    public var blockOutChannels = [64]
    public var layersPerBlock = 1
    public var latentChannels = 4
    public var normGroups = 32
    /// Model latents = VAE latents · scalingFactor (after subtracting shiftFactor).
    public var scalingFactor: Float = 0.18215
    /// `shift_factor` (SD3-style VAEs); null in SD 1.x/2.x configs, which means 0.
    public var shiftFactor: Float = 0
    /// `mid_block_add_attention`: the mid-blocks' attention between their two ResNets.
    public var midBlockAttention = true
    public var useQuantConv = true
    public var usePostQuantConv = true

    /// diffusers' constructor defaults.
    public init() {}

    public init(contentsOf url: URL) throws {
        let json = try ConfigJSON(contentsOf: url)
        try json.requireClass("AutoencoderKL")
        // force_upcast only matters for fp16 inference (we compute in fp32); sample_size only
        // sizes diffusers' tiles.
        if let act = try json.string("act_fn"), act != "silu" {
            throw json.fail("'act_fn' = \"\(act)\" is not supported (only \"silu\")")
        }
        // Per-channel latent statistics (e.g. Playground v2.5) would change what decode divides by.
        for key in ["latents_mean", "latents_std"] where json.has(key) {
            throw json.fail("'\(key)' is not supported")
        }
        inChannels = try json.int("in_channels") ?? inChannels
        outChannels = try json.int("out_channels") ?? outChannels
        blockOutChannels = try json.ints("block_out_channels") ?? blockOutChannels
        layersPerBlock = try json.int("layers_per_block") ?? layersPerBlock
        latentChannels = try json.int("latent_channels") ?? latentChannels
        normGroups = try json.int("norm_num_groups") ?? normGroups
        scalingFactor = try json.float("scaling_factor") ?? scalingFactor
        shiftFactor = try json.float("shift_factor") ?? shiftFactor
        midBlockAttention = try json.bool("mid_block_add_attention") ?? midBlockAttention
        useQuantConv = try json.bool("use_quant_conv") ?? useQuantConv
        usePostQuantConv = try json.bool("use_post_quant_conv") ?? usePostQuantConv

        let levels = blockOutChannels.count
        for (key, supported) in [("down_block_types", "DownEncoderBlock2D"), ("up_block_types", "UpDecoderBlock2D")] {
            let names = try json.strings(key) ?? [supported]
            if let other = names.first(where: { $0 != supported }) {
                throw json.fail("'\(key)' names '\(other)', which is not supported (only \(supported))")
            }
            guard names.count == levels else {
                throw json.fail("'\(key)' has \(names.count) blocks but block_out_channels has \(levels) levels")
            }
        }
        for (level, channels) in blockOutChannels.enumerated() where channels % normGroups != 0 {
            throw json.fail("block_out_channels[\(level)] = \(channels) is not divisible "
                            + "by norm_num_groups \(normGroups)")
        }
    }
}

/// diffusers' `AutoencoderTiny` configuration (TAESD, TAESDXL: `config.json` beside
/// `diffusion_pytorch_model.safetensors`). A key the file omits takes diffusers' default, which is
/// TAESD's shape: four stages of 64 channels.
public struct AutoencoderTinyConfig: Sendable, Equatable {
    public var inChannels = 3
    public var outChannels = 3
    public var encoderBlockOutChannels = [64, 64, 64, 64]
    public var decoderBlockOutChannels = [64, 64, 64, 64]
    public var latentChannels = 4
    /// Nearest-neighbour upsampling factor between decoder stages.
    public var upsamplingScalingFactor = 2
    /// `AutoencoderTinyBlock`s per encoder stage (after its input convolution).
    public var numEncoderBlocks = [1, 3, 3, 3]
    /// `AutoencoderTinyBlock`s per decoder stage (before its upsampling and convolution).
    public var numDecoderBlocks = [3, 3, 3, 1]
    /// 1 for TAESD: it reads the sampler's latents as they are. (`latent_magnitude` and
    /// `latent_shift` only serve diffusers' uint8 round trip in `forward`, so are not read.)
    public var scalingFactor: Float = 1
    public var shiftFactor: Float = 0

    /// diffusers' constructor defaults (TAESD).
    public init() {}

    public init(contentsOf url: URL) throws {
        let json = try ConfigJSON(contentsOf: url)
        try json.requireClass("AutoencoderTiny")
        for (key, supported) in [("act_fn", "relu"), ("upsample_fn", "nearest")] {
            if let value = try json.string(key), value != supported {
                throw json.fail("'\(key)' = \"\(value)\" is not supported (only \"\(supported)\")")
            }
        }
        inChannels = try json.int("in_channels") ?? inChannels
        outChannels = try json.int("out_channels") ?? outChannels
        encoderBlockOutChannels = try json.ints("encoder_block_out_channels") ?? encoderBlockOutChannels
        decoderBlockOutChannels = try json.ints("decoder_block_out_channels") ?? decoderBlockOutChannels
        latentChannels = try json.int("latent_channels") ?? latentChannels
        upsamplingScalingFactor = try json.int("upsampling_scaling_factor") ?? upsamplingScalingFactor
        numEncoderBlocks = try json.ints("num_encoder_blocks") ?? numEncoderBlocks
        numDecoderBlocks = try json.ints("num_decoder_blocks") ?? numDecoderBlocks
        scalingFactor = try json.float("scaling_factor") ?? scalingFactor
        shiftFactor = try json.float("shift_factor") ?? shiftFactor

        for (side, channels, blocks) in [("encoder", encoderBlockOutChannels, numEncoderBlocks),
                                         ("decoder", decoderBlockOutChannels, numDecoderBlocks)] {
            guard channels.count == blocks.count else {
                throw json.fail("'\(side)_block_out_channels' has \(channels.count) stages "
                                + "but 'num_\(side)_blocks' has \(blocks.count)")
            }
            // diffusers' EncoderTiny/DecoderTiny feed each stage's width unchanged into the next
            // stage's blocks, so only equal widths build a working model there either.
            guard Set(channels).count == 1 else {
                throw json.fail("'\(side)_block_out_channels' = \(channels) must all be equal")
            }
        }
        guard upsamplingScalingFactor >= 1 else {
            throw json.fail("'upsampling_scaling_factor' = \(upsamplingScalingFactor) must be at least 1")
        }
    }
}
