import Foundation
import Kernels

/// A loaded text-to-image model: tokenizer, text encoder (two for SDXL), U-Net, decoders and
/// sampler settings. Loaded once per process; every request reuses it.
public struct DiffusionModel: Sendable {
    /// How the model is named in PNG metadata and on screen (its folder or file name).
    public let name: String
    public let tokenizer: CLIPTokenizer
    /// nil once released (`releaseTextEncoder`): a batch that has encoded all its prompts frees
    /// its weights before the U-Net runs.
    public private(set) var textEncoder: CLIPTextModel?
    /// SDXL's second text encoder (OpenCLIP bigG with its projection), released with the first.
    public private(set) var textEncoder2: CLIPTextModel?
    /// The second encoder's tokenizer: the same vocabulary as `tokenizer`, padding with its own id.
    public let tokenizer2: CLIPTokenizer?
    /// SDXL: guidance without a negative prompt conditions the unguided half on zeros rather than
    /// on the encoded empty text (diffusers' `force_zeros_for_empty_prompt`, model_index.json).
    public let zeroEmptyNegative: Bool
    /// nil once released (`releaseUNet`): the last render of a process frees its weights before
    /// the decoder's full-resolution activations are allocated.
    public private(set) var unet: UNet2DConditionModel?
    /// The U-Net's config, which outlives its weights (latent shapes, guidance, memory estimates).
    public let unetConfig: UNetConfig
    /// The full VAE; nil for a model that ships only a tiny one, which then decodes with
    /// `tinyDecoder`.
    public let vae: AutoencoderKL?
    /// The model's own `vae/` is a tiny VAE (SDXS): diffusers decodes with it, so it is the default
    /// decoder even where a full VAE comes beside it (`vae_large/`).
    public let decodesWithTinyVAE: Bool
    public let tinyDecoder: TinyAutoencoder?
    public let latentPreview: LatentPreview
    public var schedulerConfig: SchedulerConfig
    /// The folder's `imagine.json` (empty for single files and folders without one).
    public var recommended: RecommendedSettings
    /// What the weight matrices were loaded in (and so the matrix products run in).
    public var precision: Precision
    /// The text encoders' and U-Net's weights as stored (memory-mapped files whose pages are
    /// released after each read), kept so that LoRAs can be merged in and taken out again by
    /// rebuilding those models from them.
    let textEncoderWeights: Weights
    let textEncoder2Weights: Weights?
    let unetWeights: Weights
    let textEncoderConfig: CLIPTextConfig
    let textEncoder2Config: CLIPTextConfig?

    /// The width of the text states the encoders give together: what the U-Net must attend to.
    var contextWidth: Int { textEncoderConfig.width + (textEncoder2Config?.width ?? 0) }
    /// The LoRAs merged into the text encoder, the second text encoder and the U-Net now, in the
    /// order given.
    public private(set) var textEncoderLoRAs: [LoRAReference] = []
    public private(set) var textEncoder2LoRAs: [LoRAReference] = []
    public private(set) var unetLoRAs: [LoRAReference] = []

    /// Pixels per latent pixel (8 for SD: the VAE halves the size once per level but the last).
    public var vaeScaleFactor: Int { vae?.scaleFactor ?? tinyDecoder?.scaleFactor ?? 8 }

    /// The decoder of `kind`: the full VAE, TAESD (when the model has one) or the linear preview.
    public func decoder(_ kind: DecoderKind) throws -> any LatentDecoder {
        switch kind {
        case .vae:
            guard let vae else {
                throw GenerationError("this model ships only a tiny VAE (its vae/ is an AutoencoderTiny): "
                                      + "use --decoder tiny, its own decoder", field: "decoder")
            }
            return vae
        case .tiny:
            guard let tinyDecoder else { throw GenerationError("this model has no tiny decoder") }
            return tinyDecoder
        case .latent: return latentPreview
        }
    }

    /// SDXL's second text encoder as loaded: its tokenizer, weights and config.
    public struct SecondTextEncoder {
        public let tokenizer: CLIPTokenizer
        public let weights: Weights
        public let config: CLIPTextConfig
        public init(tokenizer: CLIPTokenizer, weights: Weights, config: CLIPTextConfig) {
            self.tokenizer = tokenizer
            self.weights = weights
            self.config = config
        }
    }

    /// Builds the text encoders and the U-Net from their weights. An SDXL U-Net (one with
    /// `UNetConfig.textTimeEmbedding`) needs `textEncoder2`, whose projection gives its pooled
    /// input and whose width, with the first encoder's, makes its context (`Pipeline.validate`
    /// checks that width).
    public init(name: String, tokenizer: CLIPTokenizer, textEncoderWeights: Weights, textEncoderConfig: CLIPTextConfig,
                textEncoder2 second: SecondTextEncoder? = nil, zeroEmptyNegative: Bool = false,
                unetWeights: Weights, unetConfig: UNetConfig,
                vae: AutoencoderKL?, tinyDecoder: TinyAutoencoder?, decodesWithTinyVAE: Bool = false,
                latentPreview: LatentPreview,
                schedulerConfig: SchedulerConfig, recommended: RecommendedSettings = RecommendedSettings()) throws {
        guard vae != nil || tinyDecoder != nil else { throw ModelLoadError(path: name, reason: "no VAE to decode with") }
        self.decodesWithTinyVAE = decodesWithTinyVAE || vae == nil
        switch (unetConfig.textTimeEmbedding, second) {
        case (nil, nil): break
        case (let layout?, let second?):
            guard second.config.projectionDim == layout.pooledWidth else {
                throw ModelLoadError(
                    path: name, reason: "the U-Net takes a \(layout.pooledWidth)-wide pooled text embedding but the second "
                        + "text encoder projects to \(second.config.projectionDim.map(String.init) ?? "nothing (no text_projection)")")
            }
        case (_?, nil):
            throw ModelLoadError(path: name, reason: "an SDXL U-Net (addition_embed_type \"text_time\") needs a second text encoder")
        case (nil, _?):
            throw ModelLoadError(path: name, reason: "a second text encoder needs an SDXL U-Net (addition_embed_type \"text_time\")")
        }
        self.name = name
        self.tokenizer = tokenizer
        self.tokenizer2 = second?.tokenizer
        self.textEncoder = try CLIPTextModel(textEncoderWeights, config: textEncoderConfig)
        self.textEncoder2 = try second.map { try CLIPTextModel($0.weights, config: $0.config) }
        self.textEncoder2Config = second?.config
        self.textEncoder2Weights = second?.weights
        self.zeroEmptyNegative = zeroEmptyNegative
        self.unet = try UNet2DConditionModel(unetWeights, config: unetConfig)
        self.textEncoderWeights = textEncoderWeights
        self.unetWeights = unetWeights
        self.textEncoderConfig = textEncoderConfig
        self.unetConfig = unetConfig
        self.precision = unetWeights.precision
        self.vae = vae
        self.tinyDecoder = tinyDecoder
        self.latentPreview = latentPreview
        self.schedulerConfig = schedulerConfig
        self.recommended = recommended
    }

    /// Drops the text encoders' weights (this copy's reference to them; they are freed when no
    /// other copy holds them). Prompts can no longer be encoded afterwards.
    public mutating func releaseTextEncoder() {
        textEncoder = nil
        textEncoder2 = nil
    }

    /// Drops the U-Net's weights, as `releaseTextEncoder` does: nothing can be sampled afterwards.
    public mutating func releaseUNet() { unet = nil }

    /// Loads a diffusers folder (`model_index.json`, `unet/`, `text_encoder/`, `tokenizer/`,
    /// `vae/`, `scheduler/`; SDXL's also `text_encoder_2/` and `tokenizer_2/`; optionally
    /// `vae_tiny/` with a TAESD decoder and `imagine.json` with recommended settings).
    ///
    /// A `vae/` holding an AutoencoderTiny (SDXS ships so) is the model's decoder as diffusers
    /// uses it: it loads as the tiny decoder, and the full VAE comes from `vae_large/` when the
    /// folder has one (SDXS's AutoencoderKL), else there is none.
    ///
    /// `tinyDecoder` overrides the folder's `vae_tiny/`; `precision` is what every component keeps
    /// its weight matrices in (and so computes its matrix products in).
    public static func loadDiffusersFolder(_ folder: URL, tinyDecoder: URL? = nil,
                                           precision: Precision = .fp32) throws -> DiffusionModel {
        let fm = FileManager.default
        let required = ["model_index.json", "unet", "text_encoder", "tokenizer", "vae", "scheduler"]
        let missing = required.filter { !fm.fileExists(atPath: folder.appendingPathComponent($0).path) }
        guard missing.isEmpty else {
            throw ModelLoadError(path: folder.path,
                                 reason: "not a complete diffusers folder: missing \(missing.joined(separator: ", "))")
        }
        let vaeFolder = folder.appendingPathComponent("vae")
        let vaeIsTiny = try ConfigJSON(contentsOf: vaeFolder.appendingPathComponent("config.json"))
            .string("_class_name") == "AutoencoderTiny"
        let tinyFolder = tinyDecoder ?? (vaeIsTiny ? vaeFolder : folder.appendingPathComponent("vae_tiny"))
        let fullFolder = vaeIsTiny ? folder.appendingPathComponent("vae_large") : vaeFolder
        let unetFolder = folder.appendingPathComponent("unet"), textFolder = folder.appendingPathComponent("text_encoder")
        let unetConfig = try UNetConfig(contentsOf: unetFolder.appendingPathComponent("config.json"))
        let index = try ConfigJSON(contentsOf: folder.appendingPathComponent("model_index.json"))
        let text2Folder = folder.appendingPathComponent("text_encoder_2")
        var second: SecondTextEncoder?
        if fm.fileExists(atPath: text2Folder.path) {
            second = SecondTextEncoder(
                tokenizer: try CLIPTokenizer(folder: folder.appendingPathComponent("tokenizer_2")),
                weights: Weights(try ShardedStore(folder: text2Folder), precision: precision),
                config: try CLIPTextConfig(contentsOf: text2Folder.appendingPathComponent("config.json")))
        }
        return try DiffusionModel(
            name: folder.lastPathComponent,
            tokenizer: try CLIPTokenizer(folder: folder.appendingPathComponent("tokenizer")),
            textEncoderWeights: Weights(try ShardedStore(folder: textFolder), precision: precision),
            textEncoderConfig: try CLIPTextConfig(contentsOf: textFolder.appendingPathComponent("config.json")),
            textEncoder2: second,
            // diffusers' StableDiffusionXLPipeline defaults the flag to true.
            zeroEmptyNegative: try index.bool("force_zeros_for_empty_prompt") ?? (second != nil),
            unetWeights: Weights(try ShardedStore(folder: unetFolder), precision: precision),
            unetConfig: unetConfig,
            vae: fm.fileExists(atPath: fullFolder.path) ? try AutoencoderKL(folder: fullFolder, precision: precision) : nil,
            tinyDecoder: fm.fileExists(atPath: tinyFolder.path) || tinyDecoder != nil
                ? try TinyAutoencoder(folder: tinyFolder, precision: precision) : nil,
            decodesWithTinyVAE: vaeIsTiny,
            latentPreview: try LatentPreview.forModel(folder: folder, unetConfig: unetConfig),
            schedulerConfig: try SchedulerConfig(
                contentsOf: folder.appendingPathComponent("scheduler/scheduler_config.json")),
            recommended: try RecommendedSettings.load(folder: folder))
    }
}

/// A model path could not be loaded as a whole (component errors carry their own file and key).
public struct ModelLoadError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

extension DiffusionModel {
    /// Loads whatever `path` is: a diffusers folder or a single-file `.safetensors` checkpoint.
    ///
    /// - tokenizer: a CLIP tokenizer folder; needed for single files, which carry none.
    /// - tinyDecoder: a TAESD (`AutoencoderTiny`) folder for `--decoder tiny`.
    /// - predictionType: overrides the scheduler's (needed for SD 2.x single files, which do not
    ///   say whether they predict noise (2.x-base, SD-Turbo) or v (2.0-v, 2.1)).
    /// - precision: what the weight matrices are kept and multiplied in (bf16 needs AVX512-BF16).
    public static func load(path: URL, tokenizer: URL? = nil, tinyDecoder: URL? = nil,
                            predictionType: PredictionType? = nil,
                            precision: Precision = .fp32) throws -> DiffusionModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
            throw ModelLoadError(path: path.path, reason: "no such file or folder")
        }
        if let reason = precision.unavailableReason {
            throw ModelLoadError(path: path.path, reason: reason)
        }
        if isDirectory.boolValue {
            var model = try loadDiffusersFolder(path, tinyDecoder: tinyDecoder, precision: precision)
            if let predictionType { model.schedulerConfig.predictionType = predictionType }
            return model
        }
        guard path.pathExtension == "safetensors" else {
            throw ModelLoadError(path: path.path,
                                 reason: "not a diffusers folder or a .safetensors checkpoint (pickled .ckpt/.bin files are not supported)")
        }
        return try loadSingleFile(path, tokenizer: tokenizer, tinyDecoder: tinyDecoder, predictionType: predictionType,
                                  precision: precision)
    }

    /// An original-layout checkpoint (`v1-5-pruned-emaonly.safetensors`, `sd_xl_base_1.0.safetensors`):
    /// its components under diffusers names, SD's standard scheduler settings, and a tokenizer from
    /// elsewhere (SDXL's two: `tokenizer_2/` beside the `tokenizer/` given).
    static func loadSingleFile(_ file: URL, tokenizer: URL?, tinyDecoder: URL?,
                               predictionType: PredictionType?, precision: Precision) throws -> DiffusionModel {
        let checkpoint = try SingleFileCheckpoint(url: file)
        let tokenizerFolder = tokenizer ?? file.deletingLastPathComponent().appendingPathComponent("tokenizer")
        guard FileManager.default.fileExists(atPath: tokenizerFolder.appendingPathComponent("vocab.json").path) else {
            throw ModelLoadError(
                path: file.path,
                reason: "a single-file checkpoint carries no tokenizer: pass --tokenizer DIR, a CLIP tokenizer "
                    + "folder (vocab.json, merges.txt) such as the tokenizer/ folder of the matching SD repository")
        }
        var second: SecondTextEncoder?
        if let weights2 = checkpoint.textEncoder2, let config2 = checkpoint.textEncoder2Config {
            let tokenizer2Folder = tokenizerFolder.deletingLastPathComponent().appendingPathComponent("tokenizer_2")
            guard FileManager.default.fileExists(atPath: tokenizer2Folder.appendingPathComponent("vocab.json").path) else {
                throw ModelLoadError(
                    path: file.path,
                    reason: "an SDXL checkpoint needs two tokenizers: no \(tokenizer2Folder.path)/vocab.json beside "
                        + "\(tokenizerFolder.path); pass --tokenizer the tokenizer/ folder of an SDXL repository "
                        + "(stabilityai/stable-diffusion-xl-base-1.0), whose tokenizer_2/ sits beside it")
            }
            second = SecondTextEncoder(tokenizer: try CLIPTokenizer(folder: tokenizer2Folder),
                                       weights: Weights(weights2, precision: precision), config: config2)
        }
        // The scheduler config every SD 1.x/2.x and SDXL base repository ships (scaled-linear betas
        // 0.00085…0.012, leading spacing, steps_offset 1). Prediction type: the caller's, else the
        // file's, else v for SD 2.x as diffusers' from_single_file assumes.
        var scheduler = SchedulerConfig()
        scheduler.betaStart = 0.00085
        scheduler.betaEnd = 0.012
        scheduler.betaSchedule = .scaledLinear
        scheduler.timestepSpacing = .leading
        scheduler.stepsOffset = 1
        scheduler.setAlphaToOne = false
        scheduler.clipSample = false
        scheduler.predictionType = predictionType
            ?? checkpoint.predictionType.flatMap(PredictionType.init(rawValue:))
            ?? (checkpoint.family == .sd2 ? .vPrediction : .epsilon)
        return try DiffusionModel(
            name: file.deletingPathExtension().lastPathComponent,
            tokenizer: try CLIPTokenizer(folder: tokenizerFolder),
            textEncoderWeights: Weights(checkpoint.textEncoder, precision: precision),
            textEncoderConfig: checkpoint.textEncoderConfig,
            // SDXL base's model_index.json, which diffusers' from_single_file uses for these files.
            textEncoder2: second, zeroEmptyNegative: second != nil,
            unetWeights: Weights(checkpoint.unet, precision: precision),
            unetConfig: checkpoint.unetConfig,
            vae: try AutoencoderKL(Weights(checkpoint.vae, precision: precision), config: checkpoint.vaeConfig),
            tinyDecoder: try tinyDecoder.map { try TinyAutoencoder(folder: $0, precision: precision) },
            latentPreview: [.sd1: .sd15, .sd2: .sd21, .sdxl: .sdxl][checkpoint.family]!,
            schedulerConfig: scheduler)
    }
}

extension DiffusionModel {
    /// Throws, naming the file and the key, for a module of `file` that this model has no layer for
    /// or whose shape does not fit its layer.
    public func check(_ file: LoRAFile) throws {
        if textEncoder2Weights == nil, let module = file.modules.first(where: { $0.component == .textEncoder2 }) {
            throw LoRAError(file: file.url.path, key: module.key,
                            reason: "adapts a second text encoder (an SDXL LoRA); \(name) has one")
        }
        _ = try file.deltas(for: .textEncoder, in: textEncoderWeights.store, strength: 1)
        if let textEncoder2Weights { _ = try file.deltas(for: .textEncoder2, in: textEncoder2Weights.store, strength: 1) }
        _ = try file.deltas(for: .unet, in: unetWeights.store, unetConfig: unetConfig, strength: 1)
    }

    /// Merges `loras` (each file at its strength, added up) into the text encoders and the U-Net, in
    /// place of whatever set was merged before: each model that the change concerns is rebuilt from
    /// its stored weights with the LoRAs' changes added, so taking LoRAs out (an empty list)
    /// restores exactly the weights as loaded, and nothing is added per step. Released text
    /// encoders are not rebuilt (their prompts were encoded before; see `Pipeline`).
    /// `textEncoderOnly` leaves the U-Net as it is.
    public mutating func apply(loras: [(file: LoRAFile, strength: Float)], textEncoderOnly: Bool = false) throws {
        func references(_ component: LoRAComponent) -> [LoRAReference] {
            loras.filter { $0.file.modules.contains { $0.component == component } }
                .map { LoRAReference(url: $0.file.url, strength: $0.strength) }
        }
        func mergedWeights(_ weights: Weights, _ component: LoRAComponent) throws -> Weights {
            var deltas: [String: [WeightDelta]] = [:]
            for (file, strength) in loras {
                deltas.merge(try file.deltas(for: component, in: weights.store,
                                             unetConfig: component == .unet ? unetConfig : nil,
                                             strength: strength)) { $0 + $1 }
            }
            return Weights(LoRAMergedStore(base: weights.store, deltas: deltas), prefix: weights.prefix,
                           precision: weights.precision)
        }
        for (file, _) in loras { try check(file) }
        let textSet = references(.textEncoder), text2Set = references(.textEncoder2), unetSet = references(.unet)
        let textWeights = textSet == textEncoderLoRAs ? nil : try mergedWeights(textEncoderWeights, .textEncoder)
        let text2Weights = text2Set == textEncoder2LoRAs ? nil
            : try textEncoder2Weights.map { try mergedWeights($0, .textEncoder2) }
        let unetMerged = unetSet == unetLoRAs || textEncoderOnly ? nil : try mergedWeights(unetWeights, .unet)
        if let textWeights, textEncoder != nil {
            textEncoder = try CLIPTextModel(textWeights, config: textEncoderConfig)
        }
        textEncoderLoRAs = textSet
        if let text2Weights, let textEncoder2Config, textEncoder2 != nil {
            textEncoder2 = try CLIPTextModel(text2Weights, config: textEncoder2Config)
        }
        textEncoder2LoRAs = text2Set
        if let unetMerged {
            guard unet != nil else { throw GenerationError("the U-Net was released; nothing more can be rendered") }
            unet = nil  // the old weights go before the new ones are built
            do {
                unet = try UNet2DConditionModel(unetMerged, config: unetConfig)
                unetLoRAs = unetSet
            } catch {
                unet = try? UNet2DConditionModel(unetWeights, config: unetConfig)
                unetLoRAs = []
                throw error
            }
        }
    }
}
