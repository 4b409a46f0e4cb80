import Kernels

/// One tensor of a checkpoint component under its diffusers name: where the file stores it and how
/// it is read.
struct SingleFileEntry: Sendable {
    /// The checkpoint's own key (`model.diffusion_model.input_blocks.1.0.in_layers.0.weight`).
    let source: String
    /// The rows of the stored tensor (viewed as [shape[0], rest]) that make up this one: the q, k or v
    /// third of OpenCLIP's fused `in_proj`. nil for the whole tensor.
    let rows: Range<Int>?
    /// The shape the diffusers model expects: the stored one, a row slice's, a 1×1 convolution's
    /// as a matrix, or a transposed matrix's.
    let shape: [Int]
    /// The stored matrix is the transpose of this one: OpenCLIP's `text_projection` [width,
    /// projection], applied as x · P, is transformers' Linear weight [projection, width].
    var transposed = false
}

/// A layout the loader cannot map: a component or keys it needs are absent, or sizes disagree.
struct SingleFileLayoutProblem: Error, CustomStringConvertible {
    let description: String
}

/// One component's renaming table (diffusers key → `SingleFileEntry`), built from the checkpoint's
/// header alone: no tensor is read.
///
/// The layout functions below walk the original module tree in order and name each original module
/// next to its diffusers counterpart. A key the file lacks is collected in `missing` rather than
/// thrown, so an incomplete checkpoint is reported in one list instead of at the first tensor a model
/// asks for. Keys the walk never names (EMA copies, DDPM schedule buffers, the text tower's
/// projection) are simply not mapped.
struct SingleFileKeyMap {
    /// Every key of the file with its stored shape.
    let header: [String: [Int]]
    /// The component's key prefix in the checkpoint, ending in a dot.
    let prefix: String
    /// "U-Net", "VAE", "text encoder": how messages name the component.
    let component: String
    private(set) var entries: [String: SingleFileEntry] = [:]
    /// Full original keys the layout needs and the file lacks, in walk order.
    private(set) var missing: [String] = []

    init(header: [String: [Int]], prefix: String, component: String) {
        self.header = header
        self.prefix = prefix
        self.component = component
    }

    /// Whether the file has any key under `prefix + stem`; with no stem, whether the component is there.
    func hasKeys(under stem: String = "") -> Bool { header.keys.contains { $0.hasPrefix(prefix + stem) } }

    func shape(_ key: String) -> [Int]? { header[prefix + key] }

    /// One size of a key's stored shape, for inferring the config. nil when the file lacks the key,
    /// which the layout walk then reports with the rest of what is missing (or when its rank is too
    /// low, which the model's shape check reports).
    func dimension(_ axis: Int, of key: String) -> Int? {
        guard let shape = shape(key), axis < shape.count else { return nil }
        return shape[axis]
    }

    /// The distinct numbers N of keys `prefix + stem + "N." …`, ascending: `indices(after:
    /// "input_blocks.")` lists a U-Net's input blocks.
    func indices(after stem: String) -> [Int] {
        let start = prefix + stem
        var found = Set<Int>()
        for key in header.keys where key.hasPrefix(start) {
            if let index = Int(key.dropFirst(start.count).prefix { $0 != "." }) { found.insert(index) }
        }
        return found.sorted()
    }

    // MARK: Naming one original module or tensor

    /// A tensor stored as the diffusers model reads it.
    mutating func tensor(_ original: String, as name: String) {
        guard let shape = shape(original) else {
            missing.append(prefix + original)
            return
        }
        entries[name] = SingleFileEntry(source: prefix + original, rows: nil, shape: shape)
    }

    /// A layer's `weight` and (unless `bias` is false) `bias`.
    mutating func module(_ original: String, as name: String, bias: Bool = true) {
        tensor(original + ".weight", as: name + ".weight")
        if bias { tensor(original + ".bias", as: name + ".bias") }
    }

    /// A layer that only some blocks have, such as a ResNet's 1×1 shortcut (present exactly when the
    /// block changes the channel count; the model checks that, so the map follows the file).
    mutating func optionalModule(_ original: String, as name: String) {
        if shape(original + ".weight") != nil { module(original, as: name) }
    }

    /// A 1×1 convolution [out, in, 1, 1] that diffusers holds as a linear layer [out, in] (the VAE's
    /// attention projections). A weight already stored as a matrix is taken as is; one that is no 1×1
    /// kernel keeps its shape, so the model's shape check names it.
    mutating func linearFromConvolution(_ original: String, as name: String) {
        module(original, as: name)
        if let weight = entries[name + ".weight"], weight.shape.count > 2,
           weight.shape.dropFirst(2).allSatisfy({ $0 == 1 }) {
            entries[name + ".weight"] = SingleFileEntry(source: weight.source, rows: nil,
                                                        shape: Array(weight.shape.prefix(2)))
        }
    }

    /// A matrix stored transposed ([in, out] where the diffusers model reads [out, in]).
    mutating func transposedMatrix(_ original: String, as name: String) throws {
        guard let shape = shape(original) else {
            missing.append(prefix + original)
            return
        }
        guard shape.count == 2 else {
            throw SingleFileLayoutProblem(description: "\(prefix + original) has shape \(shape), not a matrix")
        }
        entries[name] = SingleFileEntry(source: prefix + original, rows: nil, shape: [shape[1], shape[0]],
                                        transposed: true)
    }

    /// A tensor that stacks `names.count` tensors along dimension 0 (OpenCLIP's `in_proj_weight`
    /// [3·width, width] is q; k; v), read as its equal parts.
    mutating func split(_ original: String, into names: [String]) throws {
        guard let shape = shape(original) else {
            missing.append(prefix + original)
            return
        }
        guard let stacked = shape.first, stacked % names.count == 0 else {
            throw SingleFileLayoutProblem(description: "\(prefix + original) has shape \(shape), "
                                          + "which does not split into \(names.count) equal parts")
        }
        let rows = stacked / names.count
        for (part, name) in names.enumerated() {
            entries[name] = SingleFileEntry(source: prefix + original, rows: part * rows ..< (part + 1) * rows,
                                            shape: [rows] + shape.dropFirst())
        }
    }
}

// MARK: - U-Net: LDM's and sgm's `openaimodel.UNetModel` → diffusers `UNet2DConditionModel`

extension SingleFileKeyMap {
    static let unetPrefix = "model.diffusion_model."

    /// The layers of LDM's `ResBlock` → diffusers' `ResnetBlock2D` (plus `skip_connection` →
    /// `conv_shortcut` where channels change).
    static let unetResnetLayers: KeyValuePairs = [
        "in_layers.0": "norm1", "in_layers.2": "conv1", "emb_layers.1": "time_emb_proj",
        "out_layers.0": "norm2", "out_layers.3": "conv2",
    ]

    /// LDM's `SpatialTransformer` layers around its transformer blocks, and one block's layers,
    /// which diffusers' `Transformer2DModel` kept by name. The q/k/v projections have no bias.
    static let unetTransformerLayers = ["norm", "proj_in", "proj_out"]
    static let unetTransformerBlockLayers = ["norm1", "attn1.to_out.0", "norm2", "attn2.to_out.0", "norm3",
                                             "ff.net.0.proj", "ff.net.2"]
    static let unetTransformerBlockBiaslessLayers = ["attn1.to_q", "attn1.to_k", "attn1.to_v",
                                                     "attn2.to_q", "attn2.to_k", "attn2.to_v"]

    /// Maps the U-Net and infers the part of its config that the weights determine: channels, block
    /// kinds, ResNets per level, transformer blocks per ResNet, the mid block's kind, cross-attention
    /// width, projection kind. Heads, GroupNorm groups and the sample size are not stored and keep
    /// UNetConfig's defaults.
    ///
    /// `pooledTextWidth`: an SDXL U-Net, whose `label_emb` (the MLP over the pooled text embedding
    /// and the six size/crop numbers' sinusoidal features) is diffusers' `add_embedding`; its input
    /// width less the pooled width gives the features' width (6 × 256 in SDXL). nil: SD 1.x/2.x,
    /// whose `label_emb`, if any, is not read.
    ///
    /// The block numbering is `unetLayers`'; the config read from it names every layer. A
    /// transformer's depth is the count of its `transformer_blocks.K`, read per ResNet (SSD-1B's
    /// differ within a level).
    mutating func mapUNet(pooledTextWidth: Int? = nil) throws -> UNetConfig {
        let inputBlocks = indices(after: "input_blocks.")
        guard !inputBlocks.isEmpty else {
            throw SingleFileLayoutProblem(description: "the U-Net keys (\(prefix)*) have no input_blocks: "
                                          + "not an SD U-Net")
        }
        guard inputBlocks == Array(0..<inputBlocks.count) else {
            throw SingleFileLayoutProblem(description: "U-Net input_blocks are numbered \(inputBlocks), "
                                          + "not 0…\(inputBlocks.count - 1)")
        }
        // ResNets per level: the blocks between downsamplers.
        var layers = [0]
        for block in inputBlocks.dropFirst() {
            if shape("input_blocks.\(block).0.op.weight") != nil {
                layers.append(0)
            } else {
                layers[layers.count - 1] += 1
            }
        }
        let levels = layers.count
        guard layers.allSatisfy({ $0 > 0 }) else {
            throw SingleFileLayoutProblem(
                description: "U-Net input_blocks: \(inputBlocks.count) blocks with \(levels - 1) downsamplers "
                    + "leave a level without ResNets (ResNets per level: \(layers))")
        }
        let (downStarts, upResnets, upStarts) = Self.unetBlockNumbers(resnetsPerLevel: layers)

        var config = UNetConfig()
        config.layersPerBlock = layers
        config.inChannels = dimension(1, of: "input_blocks.0.0.weight") ?? config.inChannels
        config.outChannels = dimension(0, of: "out.2.weight") ?? config.outChannels
        config.blockOutChannels = downStarts.map { dimension(0, of: "input_blocks.\($0).0.in_layers.2.weight") ?? 0 }
        // A level's first block has its transformer as sub-module 1 (in a last block of an up level,
        // 1 may be the upsampler instead).
        let downAttention = downStarts.map { hasKeys(under: "input_blocks.\($0).1.") }
        let upAttention = upStarts.map { hasKeys(under: "output_blocks.\($0).1.") }
        config.downBlocks = downAttention.map { $0 ? .crossAttention : .plain }
        config.upBlocks = upAttention.map { $0 ? .crossAttention : .plain }
        config.onlyCrossAttention = Array(repeating: false, count: levels)

        // Transformer blocks per ResNet. A transformer without any is given one, so that its keys are
        // reported missing; a level without attention keeps 1, as released configs say (diffusers
        // ignores those entries).
        func depth(_ transformer: String) -> Int { max(1, indices(after: transformer + ".transformer_blocks.").count) }
        config.transformerDepth = (0..<levels).map { level in
            (0..<layers[level]).map { downAttention[level] ? depth("input_blocks.\(downStarts[level] + $0).1") : 1 }
        }
        config.upTransformerDepth = (0..<levels).map { up in
            (0..<upResnets[up]).map { upAttention[up] ? depth("output_blocks.\(upStarts[up] + $0).1") : 1 }
        }
        // Without a mid transformer, the depth diffusers' config reader gives (the deepest level's).
        config.midTransformerDepth = config.transformerDepth[levels - 1][0]
        if hasKeys(under: "middle_block.1.") {
            config.midBlock = .crossAttention
            config.midTransformerDepth = depth("middle_block.1")
        } else {
            config.midBlock = hasKeys(under: "middle_block.0.") ? .resnet : nil
        }

        // The text width and the projection kind, from the first transformer there is.
        let firstTransformer = config.midBlock == .crossAttention ? "middle_block.1"
            : (0..<levels).first { downAttention[$0] }.map { "input_blocks.\(downStarts[$0]).1" }
        if let firstTransformer {
            config.crossAttentionDim = dimension(1, of: "\(firstTransformer).transformer_blocks.0.attn2.to_k.weight")
                ?? config.crossAttentionDim
            // SD 2.x and SDXL project in and out of the transformer with linear layers, SD 1.x with
            // 1×1 convolutions.
            config.useLinearProjection = shape("\(firstTransformer).proj_in.weight")?.count == 2
        }

        if let pooledTextWidth, let inputWidth = dimension(1, of: "label_emb.0.0.weight") {
            let features = inputWidth - pooledTextWidth, count = UNetConfig.TextTimeEmbedding.timeIDCount
            guard features > 0, features % (2 * count) == 0 else {
                throw SingleFileLayoutProblem(
                    description: "U-Net \(prefix)label_emb.0.0.weight takes \(inputWidth) inputs, which beside "
                        + "the \(pooledTextWidth)-wide pooled text embedding leave \(features) for \(count) "
                        + "size/crop numbers: not \(count) sinusoids of one even width")
            }
            config.textTimeEmbedding = .init(timeIDWidth: features / count, inputWidth: inputWidth)
        }
        for layer in Self.unetLayers(config, labelEmbedding: pooledTextWidth != nil) {
            switch layer.kind {
            case .withBias: module(layer.original, as: layer.name)
            case .biasless: module(layer.original, as: layer.name, bias: false)
            case .optional: optionalModule(layer.original, as: layer.name)
            }
        }
        return config
    }
}

// MARK: - The U-Net's layers under both names

/// One layer of LDM's U-Net beside its diffusers name: `input_blocks.1.0.in_layers.2` is
/// `down_blocks.0.resnets.0.conv1`.
struct UNetLayerName: Sendable, Equatable {
    enum Kind: Sendable { case withBias, biasless, optional }
    /// The LDM module path, without `model.diffusion_model.`.
    let original: String
    /// The diffusers module path.
    let name: String
    /// `biasless`: the attention's q/k/v projections; `optional`: a ResNet's 1×1 shortcut, present
    /// exactly where the block changes the channel count.
    let kind: Kind
}

extension SingleFileKeyMap {
    /// LDM's block numbers for a U-Net with `resnetsPerLevel` ResNets per down level: each down
    /// level's first `input_blocks` number (after conv_in and the levels above with their
    /// downsamplers), each up level's ResNet count (one more than its down level's) and its first
    /// `output_blocks` number (after the deeper up levels; up level 0 is the deepest).
    static func unetBlockNumbers(resnetsPerLevel resnets: [Int]) -> (downStarts: [Int], upResnets: [Int], upStarts: [Int]) {
        let levels = resnets.count
        let downStarts = (0..<levels).map { level in 1 + resnets[..<level].reduce(0, +) + level }
        let upResnets = (0..<levels).map { resnets[levels - 1 - $0] + 1 }
        let upStarts = (0..<levels).map { upResnets[..<$0].reduce(0, +) }
        return (downStarts, upResnets, upStarts)
    }

    /// Every layer of a U-Net of `config` under its LDM and its diffusers names, in LDM's module
    /// order. Single-file checkpoints store the LDM names; so do LoRAs that kohya-ss sd-scripts
    /// trains on sgm's U-Net (SDXL's) and some LyCORIS files.
    ///
    /// LDM numbers its blocks straight through. `input_blocks`: 0 is conv_in, then per level its
    /// ResNets (each with its transformer as sub-module 1) and, below the deepest level, a
    /// downsampler `N.0.op`. `middle_block`: ResNet, transformer, ResNet (SD, SDXL); one ResNet
    /// (SSD-1B, Vega); or nothing. `output_blocks`: per level from the deepest, one ResNet more than
    /// the down level (+ transformers), the last with the upsampler after them (`N.1.conv`, or
    /// `N.2.conv` behind a transformer).
    ///
    /// `labelEmbedding`: SDXL's `label_emb`, the MLP over the pooled text and size numbers, which is
    /// diffusers' `add_embedding`.
    static func unetLayers(_ config: UNetConfig, labelEmbedding: Bool) -> [UNetLayerName] {
        var layers: [UNetLayerName] = []
        func layer(_ original: String, _ name: String, _ kind: UNetLayerName.Kind = .withBias) {
            layers.append(UNetLayerName(original: original, name: name, kind: kind))
        }
        func resnet(_ original: String, _ name: String) {
            for (part, renamed) in unetResnetLayers { layer("\(original).\(part)", "\(name).\(renamed)") }
            layer("\(original).skip_connection", "\(name).conv_shortcut", .optional)
        }
        func transformer(_ original: String, _ name: String, depth: Int) {
            for part in unetTransformerLayers { layer("\(original).\(part)", "\(name).\(part)") }
            for block in 0..<depth {
                let prefix = "transformer_blocks.\(block)."
                for part in unetTransformerBlockLayers.map({ prefix + $0 }) {
                    layer("\(original).\(part)", "\(name).\(part)")
                }
                for part in unetTransformerBlockBiaslessLayers.map({ prefix + $0 }) {
                    layer("\(original).\(part)", "\(name).\(part)", .biasless)
                }
            }
        }

        let resnets = config.layersPerBlock, levels = resnets.count
        let (downStarts, upResnets, upStarts) = unetBlockNumbers(resnetsPerLevel: resnets)

        layer("time_embed.0", "time_embedding.linear_1")
        layer("time_embed.2", "time_embedding.linear_2")
        if labelEmbedding {
            layer("label_emb.0.0", "add_embedding.linear_1")
            layer("label_emb.0.2", "add_embedding.linear_2")
        }
        layer("input_blocks.0.0", "conv_in")
        for level in 0..<levels {
            for index in 0..<resnets[level] {
                let block = downStarts[level] + index
                resnet("input_blocks.\(block).0", "down_blocks.\(level).resnets.\(index)")
                if config.downBlocks[level] == .crossAttention {
                    transformer("input_blocks.\(block).1", "down_blocks.\(level).attentions.\(index)",
                                depth: config.transformerDepth[level][index])
                }
            }
            if level < levels - 1 {
                layer("input_blocks.\(downStarts[level] + resnets[level]).0.op", "down_blocks.\(level).downsamplers.0.conv")
            }
        }
        switch config.midBlock {
        case .crossAttention?:
            resnet("middle_block.0", "mid_block.resnets.0")
            transformer("middle_block.1", "mid_block.attentions.0", depth: config.midTransformerDepth)
            resnet("middle_block.2", "mid_block.resnets.1")
        case .resnet?:
            resnet("middle_block.0", "mid_block.resnets.0")
        case nil:
            break
        }
        for up in 0..<levels {
            let attention = config.upBlocks[up] == .crossAttention
            for index in 0..<upResnets[up] {
                let block = upStarts[up] + index
                resnet("output_blocks.\(block).0", "up_blocks.\(up).resnets.\(index)")
                if attention {
                    transformer("output_blocks.\(block).1", "up_blocks.\(up).attentions.\(index)",
                                depth: config.upTransformerDepth[up][index])
                }
                if index == upResnets[up] - 1 && up < levels - 1 {
                    layer("output_blocks.\(block).\(attention ? 2 : 1).conv", "up_blocks.\(up).upsamplers.0.conv")
                }
            }
        }
        layer("out.0", "conv_norm_out")
        layer("out.2", "conv_out")
        return layers
    }
}

// MARK: - VAE: LDM `AutoencoderKL` (taming-transformers' Encoder/Decoder) → diffusers `AutoencoderKL`

extension SingleFileKeyMap {
    static let vaePrefix = "first_stage_model."

    /// The ResNet layers keep their names (`nin_shortcut` becomes `conv_shortcut`).
    static let vaeResnetLayers = ["norm1", "conv1", "norm2", "conv2"]
    /// The mid-block attention: LDM's 1×1 convolutions q, k, v, proj_out are diffusers' linear layers.
    static let vaeAttentionProjections: KeyValuePairs = ["q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"]

    /// Maps the VAE and infers the part of its config that the weights determine (channels, levels,
    /// ResNets per level); GroupNorm groups and the latent scale keep diffusers' defaults, SD's values.
    ///
    /// The encoder's `down.i` are diffusers' `down_blocks.i`; the decoder's `up.i` count from the
    /// lowest resolution, so they are `up_blocks.(levels − 1 − i)`, with one ResNet more per level.
    mutating func mapVAE() throws -> AutoencoderKLConfig {
        var config = AutoencoderKLConfig()
        let levels = indices(after: "encoder.down.").count
        config.layersPerBlock = indices(after: "encoder.down.0.block.").count
        guard levels > 0, config.layersPerBlock > 0 else {
            throw SingleFileLayoutProblem(description: "VAE keys missing: \(prefix)encoder.down.0.block.0.*")
        }
        config.blockOutChannels = (0..<levels).map {
            dimension(0, of: "encoder.down.\($0).block.0.conv1.weight") ?? 0
        }
        config.inChannels = dimension(1, of: "encoder.conv_in.weight") ?? config.inChannels
        config.outChannels = dimension(0, of: "decoder.conv_out.weight") ?? config.outChannels
        config.latentChannels = dimension(1, of: "decoder.conv_in.weight") ?? config.latentChannels

        for side in ["encoder", "decoder"] {
            module("\(side).conv_in", as: "\(side).conv_in")
            vaeResnet("\(side).mid.block_1", as: "\(side).mid_block.resnets.0")
            let attention = "\(side).mid_block.attentions.0"
            module("\(side).mid.attn_1.norm", as: "\(attention).group_norm")
            for (projection, renamed) in Self.vaeAttentionProjections {
                linearFromConvolution("\(side).mid.attn_1.\(projection)", as: "\(attention).\(renamed)")
            }
            vaeResnet("\(side).mid.block_2", as: "\(side).mid_block.resnets.1")
            module("\(side).norm_out", as: "\(side).conv_norm_out")
            module("\(side).conv_out", as: "\(side).conv_out")
        }
        for level in 0..<levels {
            for layer in 0..<config.layersPerBlock {
                vaeResnet("encoder.down.\(level).block.\(layer)", as: "encoder.down_blocks.\(level).resnets.\(layer)")
            }
            if level < levels - 1 {
                module("encoder.down.\(level).downsample.conv", as: "encoder.down_blocks.\(level).downsamplers.0.conv")
            }
            let upBlock = levels - 1 - level
            for layer in 0...config.layersPerBlock {
                vaeResnet("decoder.up.\(level).block.\(layer)", as: "decoder.up_blocks.\(upBlock).resnets.\(layer)")
            }
            if level > 0 {
                module("decoder.up.\(level).upsample.conv", as: "decoder.up_blocks.\(upBlock).upsamplers.0.conv")
            }
        }
        module("quant_conv", as: "quant_conv")
        module("post_quant_conv", as: "post_quant_conv")
        return config
    }

    private mutating func vaeResnet(_ original: String, as name: String) {
        for layer in Self.vaeResnetLayers { module("\(original).\(layer)", as: "\(name).\(layer)") }
        optionalModule("\(original).nin_shortcut", as: "\(name).conv_shortcut")
    }
}

// MARK: - Text encoders → transformers `CLIPTextModel` / `CLIPTextModelWithProjection`

extension SingleFileKeyMap {
    /// SD 1.x: OpenAI CLIP ViT-L/14 as a transformers model, already under transformers' names.
    /// Files from older transformers lack the `text_model.` level; both spellings are read.
    static let clipPrefixes = ["cond_stage_model.transformer.text_model.", "cond_stage_model.transformer."]
    /// SD 2.x: OpenCLIP ViT-H/14's text tower.
    static let openCLIPPrefix = "cond_stage_model.model."
    /// SDXL (sgm's `GeneralConditioner`): embedder 0 is CLIP ViT-L/14 as a transformers model (both
    /// spellings, as for SD 1.x), embedder 1 OpenCLIP ViT-bigG/14's text tower.
    static let sdxlCLIPPrefixes = ["conditioner.embedders.0.transformer.text_model.",
                                   "conditioner.embedders.0.transformer."]
    static let sdxlOpenCLIPPrefix = "conditioner.embedders.1.model."
    /// The SDXL refiner's only text encoder, OpenCLIP ViT-bigG/14 as embedder 0.
    static let sdxlRefinerOpenCLIPPrefix = "conditioner.embedders.0.model."

    /// transformers' layers of one CLIP encoder layer (weight and bias each).
    static let clipLayerModules = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj",
                                   "layer_norm1", "mlp.fc1", "mlp.fc2", "layer_norm2"]
    /// OpenCLIP's names for them, but for q/k/v, which OpenCLIP fuses into `attn.in_proj_*`.
    static let openCLIPLayerModules: KeyValuePairs = [
        "ln_1": "layer_norm1", "attn.out_proj": "self_attn.out_proj", "ln_2": "layer_norm2",
        "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2",
    ]

    /// The stored tower's sizes, from which the family's rules make a `CLIPTextConfig`.
    struct TextTowerSizes {
        var vocabularySize: Int
        var width: Int
        var intermediateSize: Int
        /// The layers the diffusers model keeps.
        var layers: Int
        var maxPositions: Int
        /// `text_projection`'s output width, when the tower is mapped with it.
        var projectionDim: Int?
    }

    /// Maps SD 1.x's (and SDXL's first) CLIP text model: the names are transformers' own under a
    /// prefix.
    mutating func mapCLIP() -> TextTowerSizes {
        let embedding = "embeddings.token_embedding.weight"
        let sizes = TextTowerSizes(
            vocabularySize: dimension(0, of: embedding) ?? 0, width: dimension(1, of: embedding) ?? 0,
            intermediateSize: dimension(0, of: "encoder.layers.0.mlp.fc1.weight") ?? 0,
            layers: indices(after: "encoder.layers.").count,
            maxPositions: dimension(0, of: "embeddings.position_embedding.weight") ?? 0)
        for name in [embedding, "embeddings.position_embedding.weight"] { tensor(name, as: name) }
        for layer in 0..<sizes.layers {
            for name in Self.clipLayerModules.map({ "encoder.layers.\(layer).\($0)" }) { module(name, as: name) }
        }
        module("final_layer_norm", as: "final_layer_norm")
        return sizes
    }

    /// Maps an OpenCLIP text tower.
    ///
    /// SD 2.x (`withProjection` false) conditions on the penultimate layer's output (through the
    /// final LayerNorm), so diffusers' text encoder is a `CLIPTextModel` without the last layer,
    /// which is left unmapped, as is `text_projection` (only CLIP's contrastive head uses it); its
    /// keys are unprefixed, as for SD 1.x.
    ///
    /// SDXL's second encoder (`withProjection` true) is a `CLIPTextModelWithProjection` with every
    /// layer (SDXL takes the penultimate hidden state itself and pools through the projection):
    /// keys under `text_model.` beside `text_projection.weight`, as transformers saves that class.
    /// OpenCLIP stores the projection [width, projection] and applies it as x · P, the transpose of
    /// a Linear weight.
    mutating func mapOpenCLIP(withProjection: Bool = false) throws -> TextTowerSizes {
        let storedLayers = indices(after: "transformer.resblocks.").count
        let droppedLayers = withProjection ? 0 : 1
        guard storedLayers > droppedLayers else {
            throw SingleFileLayoutProblem(
                description: "text encoder: \(storedLayers) OpenCLIP layers (\(prefix)transformer.resblocks.*); "
                    + (withProjection ? "SDXL needs at least 1" : "SD 2.x needs at least 2, as it skips the last"))
        }
        var sizes = TextTowerSizes(
            vocabularySize: dimension(0, of: "token_embedding.weight") ?? 0,
            width: dimension(1, of: "token_embedding.weight") ?? 0,
            intermediateSize: dimension(0, of: "transformer.resblocks.0.mlp.c_fc.weight") ?? 0,
            layers: storedLayers - droppedLayers, maxPositions: dimension(0, of: "positional_embedding") ?? 0)
        let root = withProjection ? "text_model." : ""
        tensor("token_embedding.weight", as: root + "embeddings.token_embedding.weight")
        tensor("positional_embedding", as: root + "embeddings.position_embedding.weight")
        for layer in 0..<sizes.layers {
            let original = "transformer.resblocks.\(layer)", name = root + "encoder.layers.\(layer)"
            for (module, renamed) in Self.openCLIPLayerModules {
                self.module("\(original).\(module)", as: "\(name).\(renamed)")
            }
            for leaf in ["weight", "bias"] {
                try split("\(original).attn.in_proj_\(leaf)",
                          into: ["q", "k", "v"].map { "\(name).self_attn.\($0)_proj.\(leaf)" })
            }
        }
        module("ln_final", as: root + "final_layer_norm")
        if withProjection {
            try transposedMatrix("text_projection", as: "text_projection.weight")
            sizes.projectionDim = dimension(1, of: "text_projection")
        }
        return sizes
    }
}
