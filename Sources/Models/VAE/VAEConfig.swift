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

/// A `config.json` object with typed accessors that report the file and key; JSON null reads as
/// absent, as diffusers treats `null` as "use the default".
struct ConfigJSON {
    let file: String
    let object: [String: Any]

    init(contentsOf url: URL) throws {
        file = url.path
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ConfigError(file: file, reason: "cannot read the file")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ConfigError(file: file, reason: "not a JSON object")
        }
        self.object = object
    }

    func fail(_ reason: String) -> ConfigError { ConfigError(file: file, reason: reason) }

    func has(_ key: String) -> Bool { value(key) != nil }

    /// A `vae/` folder may hold either autoencoder; loading it as the other must fail by name.
    func requireClass(_ name: String) throws {
        if let actual = try string("_class_name"), actual != name {
            throw fail("'_class_name' = \"\(actual)\", expected \"\(name)\"")
        }
    }

    func int(_ key: String) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let n = value as? Int else { throw fail("'\(key)' must be an integer, got \(value)") }
        return n
    }

    /// A list of integers; a single integer reads as a one-element list.
    func ints(_ key: String) throws -> [Int]? {
        guard let value = value(key) else { return nil }
        if let n = value as? Int { return [n] }
        guard let list = value as? [Int] else { throw fail("'\(key)' must be an integer or a list, got \(value)") }
        return list
    }

    func float(_ key: String) throws -> Float? {
        guard let value = value(key) else { return nil }
        guard let n = value as? NSNumber else { throw fail("'\(key)' must be a number, got \(value)") }
        return n.floatValue
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard let b = value as? Bool else { throw fail("'\(key)' must be true or false, got \(value)") }
        return b
    }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let s = value as? String else { throw fail("'\(key)' must be a string, got \(value)") }
        return s
    }

    func strings(_ key: String) throws -> [String]? {
        guard let value = value(key) else { return nil }
        guard let list = value as? [String] else { throw fail("'\(key)' must be a list of names, got \(value)") }
        return list
    }

    func floats(_ key: String) throws -> [Float]? {
        guard let value = value(key) else { return nil }
        guard let list = value as? [NSNumber] else { throw fail("'\(key)' must be a list of numbers, got \(value)") }
        return list.map(\.floatValue)
    }

    /// A list of equal-length number lists (a matrix by rows).
    func floatRows(_ key: String) throws -> [[Float]]? {
        guard let value = value(key) else { return nil }
        guard let rows = value as? [[NSNumber]], let width = rows.first?.count,
              rows.allSatisfy({ $0.count == width }) else {
            throw fail("'\(key)' must be a list of equal-length number lists")
        }
        return rows.map { $0.map(\.floatValue) }
    }

    private func value(_ key: String) -> Any? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        return value
    }
}
