import Foundation
import Kernels

/// An original-layout Stable Diffusion checkpoint in one `.safetensors` file
/// (`v1-5-pruned-emaonly.safetensors`, `v2-1_768-ema-pruned.safetensors`, `sd_turbo.safetensors`),
/// seen as the components of a diffusers folder.
///
/// Each component is a `TensorStore` under diffusers/transformers key names, so the models load it
/// exactly as they load a folder: `UNet2DConditionModel(Weights(checkpoint.unet), config:
/// checkpoint.unetConfig)`. The renaming tables are built once, at open, from the header (no tensor
/// is read); a tensor is converted to fp32 when a model asks for it, whatever the file stores (fp32,
/// fp16, bf16).
///
/// The configs come from the tensor shapes plus what the family fixes and the weights cannot show:
/// SD's 32 GroupNorm groups, the U-Net's heads (`ModelFamily.unetHeads`), the text tower's 64-wide heads and
/// activation (`ModelFamily.textEncoderConfig`), the VAE's latent scale.
///
/// Read: `model.diffusion_model.*` (the non-EMA U-Net, as diffusers reads by default),
/// `first_stage_model.*`, `cond_stage_model.*`. Ignored: `model_ema.*`, DDPM schedule buffers and
/// anything else outside those prefixes. Not supported: SDXL (`conditioner.embedders.*`), which is
/// refused by name.
public struct SingleFileCheckpoint: Sendable {
    public let url: URL
    public let family: ModelFamily
    /// diffusers `UNet2DConditionModel` keys.
    public let unet: any TensorStore
    /// diffusers `AutoencoderKL` keys.
    public let vae: any TensorStore
    /// transformers `CLIPTextModel` keys, unprefixed (`embeddings.token_embedding.weight`).
    public let textEncoder: any TensorStore
    /// Shapes from the weights; heads from `ModelFamily.unetHeads`; 32 GroupNorm groups; sample size 64
    /// (SD 1.x) or 96 (SD 2.x: diffusers assumes the 768-pixel model, see `predictionType`).
    public let unetConfig: UNetConfig
    public let textEncoderConfig: CLIPTextConfig
    /// Shapes from the weights; 32 GroupNorm groups; LDM's latent scale 0.18215 for SD 1.x/2.x,
    /// which diffusers assumes for single files too.
    public let vaeConfig: AutoencoderKLConfig
    /// "epsilon", "v_prediction", or nil when the file cannot tell.
    ///
    /// The weights never say. SD 1.x models predict the noise ("epsilon"). SD 2.x comes as 768-pixel
    /// v-prediction models (2.0-v, 2.1) and as 512-pixel epsilon models (2.x-base, SD-Turbo) with the
    /// same keys and shapes. diffusers' `from_single_file` assumes "v_prediction" for every SD 2.x file
    /// (its legacy scheduler path says "epsilon" only for a `global_step` of 875000, which safetensors
    /// files do not carry), which is wrong for SD-Turbo; here SD 2.x is nil, for the caller to settle,
    /// unless the file's ModelSpec metadata names the prediction type or the architecture.
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
        var unetMap = SingleFileKeyMap(header: header, prefix: SingleFileKeyMap.unetPrefix, component: "U-Net")
        var vaeMap = SingleFileKeyMap(header: header, prefix: SingleFileKeyMap.vaePrefix, component: "VAE")
        let inferredUNet = layout(&unetMap) { try $0.mapUNet() }
        let vaeConfig = layout(&vaeMap) { try $0.mapVAE() }

        // The text encoder's layout tells the family apart: OpenAI CLIP in transformers' naming
        // (SD 1.x) or OpenCLIP (SD 2.x).
        let hasKeys = { (prefix: String) in header.keys.contains { $0.hasPrefix(prefix) } }
        let clipPrefix = SingleFileKeyMap.clipPrefixes.first(where: hasKeys)
        let family: ModelFamily? = hasKeys(SingleFileKeyMap.openCLIPPrefix) ? .sd2 : clipPrefix != nil ? .sd1 : nil
        var textMap = SingleFileKeyMap(header: header, prefix: family == .sd2 ? SingleFileKeyMap.openCLIPPrefix
                                                                  : clipPrefix ?? "", component: "text encoder")
        var tower: SingleFileKeyMap.TextTowerSizes?
        switch family {
        case .sd1: tower = layout(&textMap) { $0.mapCLIP() }
        case .sd2: tower = layout(&textMap) { try $0.mapOpenCLIP() }
        case nil where hasKeys("conditioner.embedders."):
            problems.append("SDXL-style text encoders (conditioner.embedders.*) are not supported, only SD 1.x and 2.x")
        case nil:
            problems.append("no text encoder keys (\(SingleFileKeyMap.clipPrefixes[1])* for SD 1.x, "
                            + "\(SingleFileKeyMap.openCLIPPrefix)* for SD 2.x)")
        }
        if let inferredUNet, let tower, inferredUNet.crossAttentionDim != tower.width {
            problems.append("the U-Net attends to \(inferredUNet.crossAttentionDim)-wide text states "
                            + "but the text encoder is \(tower.width) wide")
        }
        guard problems.isEmpty, let family, var unetConfig = inferredUNet, let vaeConfig, let tower else {
            throw SingleFileCheckpointError(file: url.path, problems: problems)
        }

        unetConfig.heads = family.unetHeads(blockOutChannels: unetConfig.blockOutChannels)
        unetConfig.sampleSize = family == .sd1 ? 64 : 96
        self.url = url
        self.family = family
        self.unetConfig = unetConfig
        self.vaeConfig = vaeConfig
        self.textEncoderConfig = family.textEncoderConfig(
            vocabularySize: tower.vocabularySize, width: tower.width, intermediateSize: tower.intermediateSize,
            layers: tower.layers, maxPositions: tower.maxPositions)
        self.predictionType = Self.modelSpecPredictionType(file.metadata) ?? (family == .sd1 ? "epsilon" : nil)
        let name = url.lastPathComponent
        unet = SingleFileComponent(file: file, entries: unetMap.entries, origin: "\(name) (U-Net)")
        vae = SingleFileComponent(file: file, entries: vaeMap.entries, origin: "\(name) (VAE)")
        textEncoder = SingleFileComponent(file: file, entries: textMap.entries, origin: "\(name) (text encoder)")
    }

    /// ModelSpec metadata (`modelspec.*`, written by Stability's and kohya-ss's tools) names the
    /// prediction type outright ("v", "epsilon") or through the architecture id; first match wins.
    static let modelSpecPredictionTypes: [(key: String, values: [String: String])] = [
        ("modelspec.prediction_type", ["epsilon": "epsilon", "v": "v_prediction"]),
        ("modelspec.architecture", ["stable-diffusion-v1": "epsilon", "stable-diffusion-v2-512": "epsilon",
                                    "stable-diffusion-v2-768-v": "v_prediction"]),
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

/// A checkpoint that is not a complete SD 1.x/2.x single file: every problem found, one per line of
/// `problems` (an absent component, the keys missing from one, sizes that disagree).
public struct SingleFileCheckpointError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let problems: [String]
    public var description: String {
        "\(file): not a loadable SD 1.x/2.x checkpoint: " + problems.joined(separator: "; ")
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
        return tensor.reshaped(entry.shape)
    }
}
