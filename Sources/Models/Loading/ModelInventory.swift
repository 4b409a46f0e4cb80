import Foundation

/// What a model path holds, read from headers and configs only (no weights are converted):
/// a diffusers folder (`model_index.json` + component folders), one component folder
/// (`text_encoder/`), or a single `.safetensors` file.
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
        /// e.g. "SD 1.x text encoder (CLIP ViT-L/14 text, width 768)"; nil when not recognised.
        public let family: String?
    }

    public let path: URL
    public let components: [Component]
    /// The model family as a whole, when the components agree on one.
    public let family: String?

    public init(path: URL) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
            throw InventoryError(path: path.path, reason: "no such file or folder")
        }
        if !isDirectory.boolValue {
            guard path.pathExtension == "safetensors" else {
                throw InventoryError(path: path.path, reason: "not a .safetensors file or a model folder")
            }
            let component = try Self.inspectFiles(name: path.lastPathComponent, className: nil,
                                                  files: [path], config: nil)
            components = [component]
        } else if let index = try Self.modelIndex(path) {
            components = try index.sorted { $0.key < $1.key }.compactMap { name, className in
                let folder = path.appendingPathComponent(name)
                let files = try Self.weightFiles(in: folder)
                let config = try Self.config(in: folder)
                if files.isEmpty && config == nil { return nil }  // tokenizer/, scheduler/
                return try Self.inspectFiles(name: name, className: className, files: files, config: config)
            }
        } else {
            let files = try Self.weightFiles(in: path)
            guard !files.isEmpty else {
                throw InventoryError(path: path.path,
                                     reason: "no model_index.json and no .safetensors files in this folder")
            }
            components = [try Self.inspectFiles(name: path.lastPathComponent, className: nil,
                                                files: files, config: try Self.config(in: path))]
        }
        let families = Set(components.compactMap { $0.family.map(Self.familyName) })
        family = families.count == 1 ? families.first : nil
    }

    // MARK: - Reading

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

    static func weightFiles(in folder: URL) throws -> [URL] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        let pickled = names.filter { $0.hasSuffix(".bin") || $0.hasSuffix(".ckpt") || $0.hasSuffix(".pt") }
        let safetensors = names.filter { $0.hasSuffix(".safetensors") }.sorted()
        if safetensors.isEmpty, let first = pickled.first {
            throw InventoryError(
                path: folder.appendingPathComponent(first).path,
                reason: "pickled PyTorch weights are not supported (they can run code when loaded); "
                    + "convert them to .safetensors")
        }
        return safetensors.map { folder.appendingPathComponent($0) }
    }

    static func inspectFiles(name: String, className: String?, files: [URL],
                             config: ConfigJSON?) throws -> Component {
        var dtypes: [SafetensorsDType: Int] = [:]
        var tensorCount = 0, parameterCount = 0
        var keys: [String: [Int]] = [:]
        for file in files {
            let weights = try SafetensorsFile(url: file)
            for key in weights.tensorNames {
                let info = weights.info(key)!
                tensorCount += 1
                dtypes[info.dtype, default: 0] += 1
                parameterCount += info.elementCount
                keys[key] = info.shape
            }
        }
        return Component(name: name, className: className, files: files, tensorCount: tensorCount,
                         dtypes: dtypes, parameterCount: parameterCount,
                         family: detectFamily(config: config, keys: keys))
    }

    // MARK: - Family detection

    /// Recognises SD 1.x / 2.x components by their config (diffusers folders) or by the key layout
    /// and the cross-attention width (original single-file checkpoints).
    static func detectFamily(config: ConfigJSON?, keys: [String: [Int]]) -> String? {
        if let config {
            let isCLIPText = (try? config.string("model_type")) == "clip_text_model"
                || (try? config.strings("architectures"))??.contains("CLIPTextModel") == true
            if isCLIPText, let width = (try? config.int("hidden_size")) ?? nil {
                switch width {
                case 768: return "SD 1.x text encoder (CLIP ViT-L/14 text, width 768)"
                case 1024: return "SD 2.x text encoder (OpenCLIP ViT-H/14 text, width 1024)"
                default: return "CLIP text encoder, width \(width)"
                }
            }
            if let cross = (try? config.int("cross_attention_dim")) ?? nil {
                switch cross {
                case 768: return "SD 1.x U-Net (cross-attention 768)"
                case 1024: return "SD 2.x U-Net (cross-attention 1024)"
                default: return "U-Net, cross-attention \(cross)"
                }
            }
            if let className = (try? config.string("_class_name")) ?? nil { return className }
        }
        let crossKey = "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"
        if let shape = keys[crossKey], shape.count == 2 {
            switch shape[1] {
            case 768: return "SD 1.x single-file checkpoint (cross-attention 768)"
            case 1024: return "SD 2.x single-file checkpoint (cross-attention 1024)"
            default: return "single-file checkpoint, cross-attention \(shape[1])"
            }
        }
        if let shape = keys["text_model.embeddings.token_embedding.weight"]
            ?? keys["embeddings.token_embedding.weight"], shape.count == 2 {
            return "CLIP text encoder, width \(shape[1])"
        }
        return nil
    }

    /// "SD 1.x text encoder (…)" → "SD 1.x"
    static func familyName(_ description: String) -> String {
        if description.hasPrefix("SD 1.x") { return "SD 1.x" }
        if description.hasPrefix("SD 2.x") { return "SD 2.x" }
        return description
    }
}

public struct InventoryError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}
