import Foundation
import Kernels

/// Which model a LoRA module adapts.
public enum LoRAComponent: String, Sendable, CaseIterable {
    case unet = "U-Net"
    case textEncoder = "text encoder"
    /// SDXL's second text encoder (OpenCLIP bigG): `lora_te2_…`, `text_encoder_2.…`.
    case textEncoder2 = "second text encoder"
}

/// The layouts LoRA files are written in.
public enum LoRAFormat: String, Sendable {
    /// kohya-ss sd-scripts and A1111: `lora_unet_<module path with _>.lora_down.weight`, `.lora_up.weight`, `.alpha`.
    case kohya
    /// PEFT through diffusers' `save_lora_weights`: `unet.<module path>.lora_A.weight` / `.lora_B.weight`,
    /// rank and alpha in the `lora_adapter_metadata` header entry.
    case peft
    /// diffusers before PEFT: `unet.….processor.to_q_lora.down.weight`,
    /// `text_encoder.….q_proj.lora_linear_layer.up.weight`, `….lora.down.weight`.
    case diffusers
}

/// How a module is named in the file: kohya flattens the module path with underscores (which the
/// path's own names also contain, so it is matched against the model's paths flattened the same
/// way); the other layouts keep the dotted path.
public enum LoRAModuleName: Sendable, Hashable, CustomStringConvertible {
    case flattened(String)
    case path(String)

    public var description: String {
        switch self {
        case .flattened(let name), .path(let name): return name
        }
    }
}

/// One adapted layer: ΔW = (alpha / rank) · up · down, with down [rank, in] or a convolution's
/// [rank, in, k, k] (LoCon), and up [out, rank] or [out, rank, 1, 1]. The weights stay in the
/// memory-mapped file until a merge reads them, so a LoRA costs no memory between merges (an
/// LCM-LoRA is 270 MB as fp32).
public struct LoRAModule: Sendable {
    public let component: LoRAComponent
    public let name: LoRAModuleName
    /// The file's key for `down`, for messages.
    public let key: String
    let upKey: String
    public let downShape: [Int]
    public let upShape: [Int]
    /// The factor on up · down at strength 1: alpha / rank (or alpha / √rank for rank-stabilised
    /// PEFT adapters), 1 when the file gives no alpha.
    public let scale: Float
    let file: SafetensorsFile

    public var rank: Int { downShape[0] }
    /// The size of the weight it changes, viewed as [out, rest].
    var outputs: Int { upShape[0] }
    var columns: Int { downShape.reduce(1, *) / rank }

    /// up [out, rank] and down [rank, columns] as fp32.
    func weights() throws -> (up: Tensor, down: Tensor) {
        (try LoRAFile.readTensor(file, upKey), try LoRAFile.readTensor(file, key))
    }
}

/// A problem with a LoRA file: its path, the key at fault when there is one, and what is wrong.
public struct LoRAError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let key: String?
    public let reason: String
    public init(file: String, key: String? = nil, reason: String) {
        self.file = file
        self.key = key
        self.reason = reason
    }
    public var description: String { key.map { "\(file): \($0): \(reason)" } ?? "\(file): \(reason)" }
}

/// A LoRA file read whole (LoRAs are small: tens of MB), its tensors as fp32.
public struct LoRAFile: Sendable {
    public let url: URL
    public let format: LoRAFormat
    public let modules: [LoRAModule]
    /// A1111's short hash of the file (its "addnet" hash: SHA-256 of everything after the
    /// safetensors header, first 12 hex digits), which it writes to `Lora hashes` in PNG metadata.
    public let shortHash: String

    /// The name prompts use for it (`<lora:NAME:…>`): the file name without its extension.
    public var name: String { url.deletingPathExtension().lastPathComponent }

    public init(url: URL) throws {
        let file: SafetensorsFile
        do {
            file = try SafetensorsFile(url: url)
        } catch {
            throw LoRAError(file: url.path, reason: "not a readable safetensors file (\(error))")
        }
        self.url = url
        let keys = file.tensorNames
        let format = try Self.format(of: keys, file: url.path)
        self.format = format
        var modules: [LoRAModule] = []
        switch format {
        case .kohya: modules = try Self.kohyaModules(file, keys: keys)
        case .peft: modules = try Self.peftModules(file, keys: keys)
        case .diffusers: modules = try Self.diffusersModules(file, keys: keys)
        }
        guard !modules.isEmpty else { throw LoRAError(file: url.path, reason: "holds no LoRA modules") }
        self.modules = modules
        shortHash = String(try Self.addnetHash(url).prefix(12))
    }

    // MARK: - Layouts

    /// Decides the layout from the keys, refusing by name the adapter kinds that are not LoRA.
    static func format(of keys: [String], file: String) throws -> LoRAFormat {
        let refused: [(marker: String, what: String)] = [
            ("hada_w1", "a LoHa (LyCORIS Hadamard) adapter"), ("lokr_w1", "a LoKr (LyCORIS Kronecker) adapter"),
            ("dora_scale", "a DoRA adapter"), ("lora_magnitude_vector", "a DoRA adapter"),
            ("lora_mid", "a LyCORIS LoCon with a Tucker-decomposed middle (lora_mid)"),
        ]
        for (marker, what) in refused {
            if let key = keys.first(where: { $0.contains(marker) }) {
                throw LoRAError(file: file, key: key, reason: "\(what); only plain LoRA and LoCon are supported")
            }
        }
        if keys.contains(where: { $0.hasSuffix(".lora_down.weight") }) { return .kohya }
        if keys.contains(where: { $0.hasSuffix(".lora_A.weight") }) { return .peft }
        if keys.contains(where: { $0.hasSuffix(".down.weight") }) { return .diffusers }
        throw LoRAError(file: file, reason: "no LoRA weights found (expected keys ending in lora_down.weight, "
                            + "lora_A.weight or lora.down.weight)")
    }

    static func kohyaModules(_ file: SafetensorsFile, keys: [String]) throws -> [LoRAModule] {
        let prefixes: [(String, LoRAComponent)] = [
            ("lora_unet_", .unet), ("lora_te1_", .textEncoder), ("lora_te2_", .textEncoder2), ("lora_te_", .textEncoder),
        ]
        var modules: [LoRAModule] = []
        for key in keys.sorted() where key.hasSuffix(".lora_down.weight") {
            let stem = String(key.dropLast(".lora_down.weight".count))
            guard let (prefix, component) = prefixes.first(where: { stem.hasPrefix($0.0) }) else {
                throw LoRAError(file: file.url.path, key: key,
                                reason: "not a kohya LoRA key (expected lora_unet_, lora_te_, lora_te1_ or lora_te2_)")
            }
            let alpha = try file.contains(stem + ".alpha") ? scalar(file, stem + ".alpha") : nil
            modules.append(try module(file, component: component, name: .flattened(String(stem.dropFirst(prefix.count))),
                                      downKey: key, upKey: stem + ".lora_up.weight", alpha: alpha))
        }
        return modules
    }

    static func peftModules(_ file: SafetensorsFile, keys: [String]) throws -> [LoRAModule] {
        let adapters = try PEFTAdapterSettings(metadata: file.metadata, file: file.url.path)
        var modules: [LoRAModule] = []
        for key in keys.sorted() where key.hasSuffix(".lora_A.weight") {
            let (component, path) = try componentAndPath(String(key.dropLast(".lora_A.weight".count)), file: file, key: key)
            let alpha = adapters.alpha(for: path, component: component, rank: file.info(key)?.shape.first ?? 1)
            modules.append(try module(file, component: component, name: .path(path), downKey: key,
                                      upKey: String(key.dropLast("lora_A.weight".count)) + "lora_B.weight",
                                      alpha: alpha.value, rankStabilised: alpha.rankStabilised))
        }
        return modules
    }

    /// diffusers' attention-processor LoRA names → the projection they adapt, per model.
    static let processorProjections: [LoRAComponent: [String: String]] = [
        .unet: ["to_q_lora": "to_q", "to_k_lora": "to_k", "to_v_lora": "to_v", "to_out_lora": "to_out.0"],
        .textEncoder: ["to_q_lora": "q_proj", "to_k_lora": "k_proj", "to_v_lora": "v_proj", "to_out_lora": "out_proj"],
        .textEncoder2: ["to_q_lora": "q_proj", "to_k_lora": "k_proj", "to_v_lora": "v_proj", "to_out_lora": "out_proj"],
    ]

    static func diffusersModules(_ file: SafetensorsFile, keys: [String]) throws -> [LoRAModule] {
        var modules: [LoRAModule] = []
        for key in keys.sorted() where key.hasSuffix(".down.weight") {
            let stem = String(key.dropLast(".down.weight".count))
            var (component, path) = try componentAndPath(stem, file: file, key: key)
            if let range = path.range(of: #"(processor\.)?to_(q|k|v|out)_lora$"#, options: .regularExpression) {
                let processor = String(path[range]).replacingOccurrences(of: "processor.", with: "")
                path = path.replacingCharacters(in: range, with: processorProjections[component]![processor]!)
            } else if path.hasSuffix(".lora_linear_layer") {
                path = String(path.dropLast(".lora_linear_layer".count))
            } else if path.hasSuffix(".lora") {
                path = String(path.dropLast(".lora".count))
            } else {
                throw LoRAError(file: file.url.path, key: key, reason: "not a diffusers LoRA key")
            }
            let alpha = try file.contains(stem + ".alpha") ? scalar(file, stem + ".alpha") : nil
            modules.append(try module(file, component: component, name: .path(path), downKey: key,
                                      upKey: stem + ".up.weight", alpha: alpha))
        }
        return modules
    }

    /// `unet.down_blocks.0…` → (.unet, `down_blocks.0…`); a key with no component prefix is the U-Net's
    /// (diffusers' `save_attn_procs` files).
    static func componentAndPath(_ stem: String, file: SafetensorsFile, key: String) throws -> (LoRAComponent, String) {
        for (prefix, component) in [("unet.", LoRAComponent.unet), ("text_encoder_2.", .textEncoder2),
                                    ("text_encoder.", .textEncoder)] where stem.hasPrefix(prefix) {
            return (component, String(stem.dropFirst(prefix.count)))
        }
        if stem.hasPrefix("down_blocks.") || stem.hasPrefix("mid_block.") || stem.hasPrefix("up_blocks.") {
            return (.unet, stem)
        }
        throw LoRAError(file: file.url.path, key: key,
                        reason: "names no model (expected a unet., text_encoder. or text_encoder_2. prefix)")
    }

    static func module(_ file: SafetensorsFile, component: LoRAComponent, name: LoRAModuleName, downKey: String,
                       upKey: String, alpha: Float?, rankStabilised: Bool = false) throws -> LoRAModule {
        guard let downInfo = file.info(downKey), let upInfo = file.info(upKey) else {
            throw LoRAError(file: file.url.path, key: downKey, reason: "has no matching \(upKey)")
        }
        for info in [downInfo, upInfo] where ![.f32, .f16, .bf16].contains(info.dtype) {
            throw LoRAError(file: file.url.path, key: info.name, reason: "dtype \(info.dtype.rawValue) (expected F32, F16 or BF16)")
        }
        let down = downInfo.shape, up = upInfo.shape
        let rank = down.first ?? 0
        // up is [out, rank] or a 1×1 convolution's [out, rank, 1, 1].
        guard rank > 0, down.count == 2 || down.count == 4, up.count == down.count, up[1] == rank,
              up.dropFirst(2).allSatisfy({ $0 == 1 })
        else {
            throw LoRAError(file: file.url.path, key: downKey, reason: "down \(down) and up \(up) do not form a LoRA pair")
        }
        let scale: Float = alpha.map { rankStabilised ? $0 / Float(rank).squareRoot() : $0 / Float(rank) } ?? 1
        return LoRAModule(component: component, name: name, key: downKey, upKey: upKey, downShape: down, upShape: up,
                          scale: scale, file: file)
    }

    static func readTensor(_ file: SafetensorsFile, _ key: String) throws -> Tensor {
        do {
            return try file.tensor(key)
        } catch {
            throw LoRAError(file: file.url.path, key: key, reason: "\(error)")
        }
    }

    static func scalar(_ file: SafetensorsFile, _ key: String) throws -> Float {
        let tensor = try readTensor(file, key)
        guard tensor.count == 1 else {
            throw LoRAError(file: file.url.path, key: key, reason: "alpha must be one number, got shape \(tensor.shape)")
        }
        return tensor.data[0]
    }

    /// SHA-256 of the bytes after the safetensors header: the hash A1111 (and the kohya
    /// "additional networks" extension before it) gives a LoRA, unchanged by edits to the metadata.
    static func addnetHash(_ url: URL) throws -> String {
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        guard data.count >= 8 else { throw LoRAError(file: url.path, reason: "too short for a safetensors file") }
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        guard headerLength >= 0, 8 + headerLength <= data.count else {
            throw LoRAError(file: url.path, reason: "header length \(headerLength) runs past the end of the file")
        }
        return data.withUnsafeBytes { SHA256.hex(UnsafeRawBufferPointer(rebasing: $0[(8 + headerLength)...])) }
    }
}

/// PEFT's `LoraConfig` as diffusers stores it per component in the `lora_adapter_metadata` header
/// entry (`unet.lora_alpha`, `unet.alpha_pattern`, …). With no metadata alpha equals the rank
/// (scale 1), as diffusers assumes.
struct PEFTAdapterSettings {
    struct Component { var alpha: Float?; var alphaPattern: [String: Float] = [:]; var rankStabilised = false }
    var components: [LoRAComponent: Component] = [:]

    init(metadata: [String: String], file: String) throws {
        guard let text = metadata["lora_adapter_metadata"] else { return }
        guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw LoRAError(file: file, key: "__metadata__.lora_adapter_metadata", reason: "not a JSON object")
        }
        for (prefix, component) in [("unet.", LoRAComponent.unet), ("text_encoder.", .textEncoder),
                                    ("text_encoder_2.", .textEncoder2)] {
            var settings = Component()
            settings.alpha = (json[prefix + "lora_alpha"] as? NSNumber)?.floatValue
            if let pattern = json[prefix + "alpha_pattern"] as? [String: Any] {
                settings.alphaPattern = pattern.compactMapValues { ($0 as? NSNumber)?.floatValue }
            }
            settings.rankStabilised = (json[prefix + "use_rslora"] as? Bool) ?? false
            components[component] = settings
        }
    }

    /// PEFT's rule: a pattern matches a module whose path is it or ends in "." + it.
    func alpha(for path: String, component: LoRAComponent, rank: Int) -> (value: Float?, rankStabilised: Bool) {
        guard let settings = components[component] else { return (nil, false) }
        let patterned = settings.alphaPattern.first { path == $0.key || path.hasSuffix("." + $0.key) }?.value
        return (patterned ?? settings.alpha, settings.rankStabilised)
    }
}
