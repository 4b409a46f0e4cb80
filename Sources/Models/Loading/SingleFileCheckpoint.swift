import Foundation
import Kernels

/// An original-layout Stable Diffusion checkpoint in one `.safetensors` file
/// (`v1-5-pruned-emaonly.safetensors`, `v2-1_768-ema-pruned.safetensors`, `sd_turbo.safetensors`,
/// `sd_xl_base_1.0.safetensors`), seen as the components of a diffusers folder.
///
/// Each component is a `TensorStore` under diffusers/transformers key names, so the models load it
/// exactly as they load a folder: `UNet2DConditionModel(Weights(checkpoint.unet), config:
/// checkpoint.unetConfig)`. The renaming tables are built once, at open, from the header (no tensor
/// is read); a tensor is converted to fp32 when a model asks for it, whatever the file stores (fp32,
/// fp16, bf16).
///
/// The configs come from the tensor shapes plus what the family fixes and the weights cannot show:
/// SD's 32 GroupNorm groups, the U-Net's heads (`ModelFamily.unetHeads`) and sample size, the text
/// towers' 64-wide heads and activation (`ModelFamily.textEncoderConfig`, `.textEncoder2Config`),
/// the VAE's latent scale (`ModelFamily.vaeScalingFactor`).
///
/// Read: `model.diffusion_model.*` (the non-EMA U-Net, as diffusers reads by default),
/// `first_stage_model.*`, and the text encoders: `cond_stage_model.*` (SD 1.x/2.x) or SDXL's
/// `conditioner.embedders.0.transformer.*` (CLIP ViT-L) and `conditioner.embedders.1.model.*`
/// (OpenCLIP ViT-bigG). Ignored: `model_ema.*`, DDPM schedule buffers and anything else outside
/// those prefixes. Not supported: the SDXL refiner (`conditioner.embedders.0.model.*` alone), which
/// is refused by name.
public struct SingleFileCheckpoint: Sendable {
    public let url: URL
    public let family: ModelFamily
    /// diffusers `UNet2DConditionModel` keys.
    public let unet: any TensorStore
    /// diffusers `AutoencoderKL` keys.
    public let vae: any TensorStore
    /// transformers `CLIPTextModel` keys, unprefixed (`embeddings.token_embedding.weight`): SD 1.x's
    /// and SDXL's CLIP ViT-L, SD 2.x's OpenCLIP ViT-H.
    public let textEncoder: any TensorStore
    /// SDXL's second text encoder (OpenCLIP ViT-bigG) under transformers'
    /// `CLIPTextModelWithProjection` keys, as `text_encoder_2/` stores them: `text_model.`-prefixed,
    /// beside `text_projection.weight` [projectionDim, width]. nil for SD 1.x/2.x.
    public let textEncoder2: (any TensorStore)?
    /// Shapes from the weights; heads from `ModelFamily.unetHeads`; 32 GroupNorm groups; sample size
    /// from `ModelFamily.unetSampleSize` (SD 2.x: diffusers assumes the 768-pixel model, see
    /// `predictionType`). SDXL's size embedding: its input width from `label_emb.0.0`, the size
    /// features' width from what the pooled text embedding (`textEncoder2Config.projectionDim`)
    /// leaves of it (6 × 256 in SDXL).
    public let unetConfig: UNetConfig
    public let textEncoderConfig: CLIPTextConfig
    /// `textEncoder2`'s config: its sizes and `projectionDim` from the weights, heads 64 wide,
    /// every stored layer (SDXL picks the penultimate hidden state itself). nil for SD 1.x/2.x.
    public let textEncoder2Config: CLIPTextConfig?
    /// Shapes from the weights; 32 GroupNorm groups; the family's latent scale: LDM's 0.18215 for
    /// SD 1.x/2.x (which diffusers assumes for their single files too), 0.13025 for SDXL.
    public let vaeConfig: AutoencoderKLConfig
    /// "epsilon", "v_prediction", or nil when the file cannot tell.
    ///
    /// The weights never say. SD 1.x and SDXL base models predict the noise ("epsilon"). SD 2.x comes
    /// as 768-pixel v-prediction models (2.0-v, 2.1) and as 512-pixel epsilon models (2.x-base,
    /// SD-Turbo) with the same keys and shapes. diffusers' `from_single_file` assumes "v_prediction"
    /// for every SD 2.x file (its legacy scheduler path says "epsilon" only for a `global_step` of
    /// 875000, which safetensors files do not carry), which is wrong for SD-Turbo; here SD 2.x is nil,
    /// for the caller to settle, unless the file's ModelSpec metadata names the prediction type or the
    /// architecture (which also marks v-prediction SDXL fine-tunes).
    public let predictionType: String?

    public init(url: URL) throws {
        let file = try SafetensorsFile(url: url)
        var header: [String: [Int]] = [:]
        for name in file.tensorNames { header[name] = file.info(name)?.shape }
        var problems: [String] = []

        /// Runs one component's layout; nil, with the reasons added to `problems`, when the component
        /// is absent, incomplete or not an SD layout.
        func layout<Result>(_ map: inout SingleFileKeyMap,
                            _ build: (inout SingleFileKeyMap) throws -> Result) -> Result? {
            guard map.hasKeys() else {
                problems.append("no \(map.component) keys (\(map.prefix)*)")
                return nil
            }
            do {
                let result = try build(&map)
                guard map.missing.isEmpty else {
                    problems.append("\(map.component) keys missing: \(Self.abbreviatedList(map.missing))")
                    return nil
                }
                return result
            } catch {
                problems.append("\(error)")
                return nil
            }
        }
        typealias KeyMap = SingleFileKeyMap

        // The text encoders' layout tells the family apart: OpenAI CLIP in transformers' naming
        // (SD 1.x), OpenCLIP (SD 2.x), or sgm's conditioner holding both (SDXL).
        let hasKeys = { (prefix: String) in header.keys.contains { $0.hasPrefix(prefix) } }
        let family: ModelFamily?
        if hasKeys("conditioner.embedders.") {
            family = hasKeys(KeyMap.sdxlRefinerOpenCLIPPrefix) ? nil : .sdxl
        } else {
            family = hasKeys(KeyMap.openCLIPPrefix) ? .sd2 : KeyMap.clipPrefixes.contains(where: hasKeys) ? .sd1 : nil
        }
        // SDXL's size embedding takes the pooled text embedding, as wide as the bigG tower's projection.
        let pooledTextWidth = family == .sdxl ? header[KeyMap.sdxlOpenCLIPPrefix + "text_projection"]?.last : nil
        var unetMap = KeyMap(header: header, prefix: KeyMap.unetPrefix, component: "U-Net")
        var vaeMap = KeyMap(header: header, prefix: KeyMap.vaePrefix, component: "VAE")
        let inferredUNet = layout(&unetMap) { try $0.mapUNet(pooledTextWidth: pooledTextWidth) }
        let inferredVAE = layout(&vaeMap) { try $0.mapVAE() }

        let clipPrefixes = family == .sdxl ? KeyMap.sdxlCLIPPrefixes : KeyMap.clipPrefixes
        var textMap = KeyMap(header: header, prefix: family == .sd2 ? KeyMap.openCLIPPrefix
                                 : clipPrefixes.first(where: hasKeys) ?? clipPrefixes[1], component: "text encoder")
        var text2Map = KeyMap(header: header, prefix: KeyMap.sdxlOpenCLIPPrefix, component: "text encoder 2")
        var tower: KeyMap.TextTowerSizes?, tower2: KeyMap.TextTowerSizes?
        switch family {
        case .sd1: tower = layout(&textMap) { $0.mapCLIP() }
        case .sd2: tower = layout(&textMap) { try $0.mapOpenCLIP() }
        case .sdxl:
            tower = layout(&textMap) { $0.mapCLIP() }
            tower2 = layout(&text2Map) { try $0.mapOpenCLIP(withProjection: true) }
        case nil where hasKeys("conditioner.embedders."):
            problems.append("an SDXL refiner (one text encoder, OpenCLIP ViT-bigG at "
                            + "\(KeyMap.sdxlRefinerOpenCLIPPrefix)*) is not supported, only SDXL base models "
                            + "(CLIP ViT-L at \(KeyMap.sdxlCLIPPrefixes[1])* and OpenCLIP ViT-bigG at "
                            + "\(KeyMap.sdxlOpenCLIPPrefix)*)")
        case nil:
            problems.append("no text encoder keys (\(KeyMap.clipPrefixes[1])* for SD 1.x, "
                            + "\(KeyMap.openCLIPPrefix)* for SD 2.x, conditioner.embedders.* for SDXL)")
        }

        // SDXL's U-Net attends to both encoders' states side by side.
        let towers = family == .sdxl ? [tower, tower2] : [tower]
        let widths = towers.compactMap { $0?.width }
        if let inferredUNet, widths.count == towers.count, inferredUNet.crossAttentionDim != widths.reduce(0, +) {
            problems.append("the U-Net attends to \(inferredUNet.crossAttentionDim)-wide text states but the text "
                            + (widths.count == 2 ? "encoders are \(widths[0]) + \(widths[1]) wide"
                                                 : "encoder is \(widths[0]) wide"))
        }
        guard problems.isEmpty, let family, var unetConfig = inferredUNet, var vaeConfig = inferredVAE, let tower else {
            throw SingleFileCheckpointError(file: url.path, problems: problems)
        }

        unetConfig.heads = family.unetHeads(blockOutChannels: unetConfig.blockOutChannels)
        unetConfig.sampleSize = family.unetSampleSize
        vaeConfig.scalingFactor = family.vaeScalingFactor
        self.url = url
        self.family = family
        self.unetConfig = unetConfig
        self.vaeConfig = vaeConfig
        self.textEncoderConfig = family.textEncoderConfig(
            vocabularySize: tower.vocabularySize, width: tower.width, intermediateSize: tower.intermediateSize,
            layers: tower.layers, maxPositions: tower.maxPositions)
        self.textEncoder2Config = tower2.flatMap {
            family.textEncoder2Config(vocabularySize: $0.vocabularySize, width: $0.width,
                                      intermediateSize: $0.intermediateSize, layers: $0.layers,
                                      maxPositions: $0.maxPositions, projectionDim: $0.projectionDim ?? 0)
        }
        self.predictionType = Self.modelSpecPredictionType(file.metadata) ?? (family == .sd2 ? nil : "epsilon")
        let name = url.lastPathComponent
        unet = SingleFileComponent(file: file, entries: unetMap.entries, origin: "\(name) (U-Net)")
        vae = SingleFileComponent(file: file, entries: vaeMap.entries, origin: "\(name) (VAE)")
        textEncoder = SingleFileComponent(file: file, entries: textMap.entries, origin: "\(name) (text encoder)")
        textEncoder2 = family == .sdxl
            ? SingleFileComponent(file: file, entries: text2Map.entries, origin: "\(name) (text encoder 2)") : nil
    }

    /// ModelSpec metadata (`modelspec.*`, written by Stability's and kohya-ss's tools) names the
    /// prediction type outright ("v", "epsilon") or through the architecture id; first match wins.
    static let modelSpecPredictionTypes: [(key: String, values: [String: String])] = [
        ("modelspec.prediction_type", ["epsilon": "epsilon", "v": "v_prediction"]),
        ("modelspec.architecture", ["stable-diffusion-v1": "epsilon", "stable-diffusion-v2-512": "epsilon",
                                    "stable-diffusion-v2-768-v": "v_prediction",
                                    "stable-diffusion-xl-v1-base": "epsilon"]),
    ]

    static func modelSpecPredictionType(_ metadata: [String: String]) -> String? {
        for (key, values) in modelSpecPredictionTypes {
            if let value = metadata[key].flatMap({ values[$0] }) { return value }
        }
        return nil
    }

    /// The first 10 keys, then how many more: SD's VAE decoder alone has 138.
    static func abbreviatedList(_ keys: [String], limit: Int = 10) -> String {
        let shown = keys.prefix(limit).joined(separator: ", ")
        return keys.count > limit ? "\(shown), … (\(keys.count - limit) more)" : shown
    }
}

/// A checkpoint that is not a complete SD 1.x, 2.x or SDXL single file: every problem found, one per line of
/// `problems` (an absent component, the keys missing from one, sizes that disagree).
public struct SingleFileCheckpointError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let problems: [String]
    public var description: String {
        "\(file): not a loadable SD 1.x, 2.x or SDXL checkpoint: " + problems.joined(separator: "; ")
    }
}

/// One component of a single-file checkpoint under diffusers names.
struct SingleFileComponent: TensorStore {
    let file: SafetensorsFile
    let entries: [String: SingleFileEntry]
    /// "v1-5-pruned-emaonly.safetensors (U-Net)"
    let origin: String

    var keys: [String] { entries.keys.sorted() }
    func contains(_ key: String) -> Bool { entries[key] != nil }
    func shape(of key: String) -> [Int]? { entries[key]?.shape }

    func tensor(_ key: String) throws -> Tensor {
        guard let entry = entries[key] else { throw WeightError(origin: origin, key: key, reason: "missing") }
        var tensor = try file.tensor(entry.source)
        if let rows = entry.rows { tensor = tensor.rows(rows) }
        if entry.transposed { tensor = transposeLastTwo(tensor, rows: entry.shape[1], cols: entry.shape[0]) }
        return tensor.reshaped(entry.shape)
    }
}
