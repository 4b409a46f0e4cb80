import Foundation

/// What a model path holds, read from headers and configs only (no weights are converted):
/// a diffusers folder (`model_index.json` + component folders), one component folder
/// (`text_encoder/`), or a single `.safetensors` file. The loaders find a component's weight
/// files with the same rule (`weightFiles(in:)`), so `imagine inspect` shows what loading reads.
public struct ModelInventory: Sendable {
    public struct Component: Sendable {
        /// `unet`, `text_encoder`, … for a diffusers folder; the file name for a single file.
        public let name: String
        /// The class `model_index.json` names (`CLIPTextModel`), when there is one.
        public let className: String?
        public let files: [URL]
        public let tensorCount: Int
        /// Tensor count per stored dtype.
        public let dtypes: [SafetensorsDType: Int]
        public let parameterCount: Int
        /// The family the component belongs to, when recognised.
        public let family: ModelFamily?
        /// e.g. "SD 1.x text encoder (CLIP ViT-L/14 text, width 768)", "SDXL single-file checkpoint
    /// (cross-attention 2048; text encoders: CLIP ViT-L/14 text, width 768; OpenCLIP ViT-bigG/14 text
    /// with projection, width 1280)"; nil when not recognised.
        public let description: String?
    }

    public let path: URL
    public let components: [Component]
    /// The model family as a whole, when the components agree on one.
    public let family: ModelFamily?

    public init(path: URL) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
            throw ModelLoadError(path: path.path, reason: "no such file or folder")
        }
        if !isDirectory.boolValue {
            guard path.pathExtension == "safetensors" else {
                throw ModelLoadError(path: path.path, reason: "not a .safetensors file or a model folder")
            }
            components = [try Self.singleFile(path)]
        } else if let index = try Self.modelIndex(path) {
            components = try index.sorted { $0.key < $1.key }.compactMap { name, className in
                let folder = path.appendingPathComponent(name)
                let config = try Self.config(in: folder)
                // tokenizer/ and scheduler/ hold no weights and no config.json.
                if config == nil && !Self.holdsWeights(folder) { return nil }
                return try Self.inspect(name: name, className: className, files: try Self.weightFiles(in: folder),
                                        config: config)
            }
        } else {
            components = [try Self.inspect(name: path.lastPathComponent, className: nil,
                                           files: try Self.weightFiles(in: path), config: try Self.config(in: path))]
        }
        let families = Set(components.compactMap(\.family))
        // SDXL's first text encoder is SD 1.x's CLIP ViT-L, which alone reads as SD 1.x.
        if families == [.sd1, .sdxl], components.allSatisfy({ $0.family != .sd1 || $0.name == "text_encoder" }) {
            family = .sdxl
        } else {
            family = families.count == 1 ? families.first : nil
        }
    }

    // MARK: - Reading

    /// A diffusers/transformers component folder's weight files, for the inventory and the loaders
    /// alike: `diffusion_pytorch_model*.safetensors` or `model*.safetensors` (shards included),
    /// full precision preferred when a `.fp16.` variant sits beside it. Pickled PyTorch files are
    /// refused by name when nothing else is there.
    public static func weightFiles(in folder: URL) throws -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var weights = names.filter {
            $0.hasSuffix(".safetensors") && ($0.hasPrefix("diffusion_pytorch_model") || $0.hasPrefix("model"))
        }.sorted()
        let full = weights.filter { !$0.contains(".fp16.") }
        if !full.isEmpty { weights = full }
        if weights.isEmpty,
           let pickled = names.sorted().first(where: { $0.hasSuffix(".bin") || $0.hasSuffix(".ckpt") || $0.hasSuffix(".pt") }) {
            throw ModelLoadError(
                path: folder.appendingPathComponent(pickled).path,
                reason: "pickled PyTorch weights are not supported (they can run code when loaded); "
                    + "convert them to .safetensors")
        }
        guard !weights.isEmpty else {
            throw ModelLoadError(
                path: folder.path,
                reason: "no weight file (diffusion_pytorch_model*.safetensors or model*.safetensors)")
        }
        return weights.map { folder.appendingPathComponent($0) }
    }

    private static func holdsWeights(_ folder: URL) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.contains { $0.hasSuffix(".safetensors") || $0.hasSuffix(".bin") || $0.hasSuffix(".ckpt") }
    }

    /// `model_index.json`'s component → class map (`"unet": ["diffusers", "UNet2DConditionModel"]`).
    static func modelIndex(_ folder: URL) throws -> [String: String]? {
        guard let json = try ConfigJSON.ifPresent(folder.appendingPathComponent("model_index.json")) else {
            return nil
        }
        var components: [String: String] = [:]
        for (key, value) in json.object where !key.hasPrefix("_") {
            if case .array(let pair) = value, pair.count == 2, case .string(let className) = pair[1] {
                components[key] = className
            }
        }
        return components
    }

    static func config(in folder: URL) throws -> ConfigJSON? {
        try ConfigJSON.ifPresent(folder.appendingPathComponent("config.json"))
    }

    /// Counts a component's tensors and recognises it by its config.
    static func inspect(name: String, className: String?, files: [URL], config: ConfigJSON?) throws -> Component {
        let (tensorCount, dtypes, parameterCount) = try count(files.map { try SafetensorsFile(url: $0) })
        let (family, description) = try config.map { try recognise($0, parameterCount: parameterCount) } ?? (nil, nil)
        return Component(name: name, className: className, files: files, tensorCount: tensorCount, dtypes: dtypes,
                         parameterCount: parameterCount, family: family, description: description)
    }

    /// A single `.safetensors` file: an original-layout SD checkpoint when `SingleFileCheckpoint`
    /// (the loader's own reading of it) opens it, else a bare CLIP text encoder or unrecognised.
    static func singleFile(_ url: URL) throws -> Component {
        let file = try SafetensorsFile(url: url)
        let (tensorCount, dtypes, parameterCount) = count([file])
        var family: ModelFamily?, description: String?
        if let checkpoint = try? SingleFileCheckpoint(url: url) {
            family = checkpoint.family
            var encoders = ["\(checkpoint.family.textEncoderName), width \(checkpoint.textEncoderConfig.width)"]
            if let name = checkpoint.family.textEncoder2Name, let config = checkpoint.textEncoder2Config {
                encoders.append("\(name), width \(config.width)")
            }
            description = "\(checkpoint.family.rawValue) single-file checkpoint "
                + "(cross-attention \(checkpoint.unetConfig.crossAttentionDim); text encoder"
                + (encoders.count > 1 ? "s: " : ": ") + encoders.joined(separator: "; ") + ")"
        } else if let shape = file.info("text_model.embeddings.token_embedding.weight")?.shape
                    ?? file.info("embeddings.token_embedding.weight")?.shape, shape.count == 2 {
            family = ModelFamily(textWidth: shape[1])
            description = "CLIP text encoder, width \(shape[1])"
        }
        return Component(name: url.lastPathComponent, className: nil, files: [url], tensorCount: tensorCount,
                         dtypes: dtypes, parameterCount: parameterCount, family: family, description: description)
    }

    private static func count(_ files: [SafetensorsFile]) -> (tensors: Int, dtypes: [SafetensorsDType: Int], parameters: Int) {
        var dtypes: [SafetensorsDType: Int] = [:]
        var tensorCount = 0, parameterCount = 0
        for file in files {
            for name in file.tensorNames {
                guard let info = file.info(name) else { continue }
                tensorCount += 1
                dtypes[info.dtype, default: 0] += 1
                parameterCount += info.elementCount
            }
        }
        return (tensorCount, dtypes, parameterCount)
    }

    // MARK: - Family

    /// A diffusers/transformers component by its config: a CLIP text encoder by its width, a
    /// U-Net by its cross-attention width (and a released layout by its parameter count), anything
    /// else by its class name.
    static func recognise(_ config: ConfigJSON, parameterCount: Int) throws -> (ModelFamily?, String?) {
        let isCLIPText = try config.string("model_type") == "clip_text_model"
            || config.strings("architectures")?.contains(where: ["CLIPTextModel", "CLIPTextModelWithProjection"].contains)
                == true
        if isCLIPText, let width = try config.int("hidden_size") {
            guard let family = ModelFamily(textWidth: width) else { return (nil, "CLIP text encoder, width \(width)") }
            // The one CLIP width SDXL has of its own is its second encoder's.
            let name = family == .sdxl ? family.textEncoder2Name ?? family.textEncoderName : family.textEncoderName
            return (family, "\(family.rawValue) text encoder (\(name), width \(width))")
        }
        if let cross = try config.int("cross_attention_dim") {
            guard let family = ModelFamily(textWidth: cross) else { return (nil, "U-Net, cross-attention \(cross)") }
            let layout = releasedUNetLayouts[parameterCount].map { ", the layout of \($0)" } ?? ""
            return (family, "\(family.rawValue) U-Net (cross-attention \(cross))\(layout)")
        }
        return (nil, try config.string("_class_name"))
    }

    /// Released U-Nets by parameter count, which tells the distilled layouts of one family apart
    /// (the count follows from the config's every size, so fine-tunes of a layout share it).
    static let releasedUNetLayouts: [Int: String] = [
        859_520_964: "SD 1.x (stable-diffusion-v1-5 and its fine-tunes)",
        865_910_724: "SD 2.x (stable-diffusion-2-1, sd-turbo)",
        2_567_463_684: "SDXL (stable-diffusion-xl-base-1.0, sdxl-turbo, SDXL-Lightning)",
        1_331_334_404: "segmind/SSD-1B",
        745_225_604: "segmind/Segmind-Vega",
        328_177_284: "IDKiro/sdxs-512-0.9",
        315_746_244: "IDKiro/sdxs-512-dreamshaper",
        579_384_964: "nota-ai/bk-sdm-base and segmind/small-sd",
        482_346_884: "nota-ai/bk-sdm-small",
        323_384_964: "nota-ai/bk-sdm-tiny and segmind/tiny-sd",
        583_480_964: "nota-ai/bk-sdm-v2-base",
        485_787_524: "nota-ai/bk-sdm-v2-small",
        326_825_604: "nota-ai/bk-sdm-v2-tiny",
    ]
}
