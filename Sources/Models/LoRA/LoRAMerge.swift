import Foundation
import Kernels

/// A LoRA file at a strength, as a request names it (`--lora FILE:0.8`, `<lora:NAME:0.8>`).
public struct LoRAReference: Sendable, Hashable {
    public let url: URL
    /// Multiplies the LoRA's change to every weight; negative values push the other way.
    public var strength: Float

    public init(url: URL, strength: Float = 1) {
        self.url = url
        self.strength = strength
    }

    /// How prompts name the LoRA: its file name without the extension.
    public var name: String { url.deletingPathExtension().lastPathComponent }
}

/// Where each LoRA module lands in one model: its modules' names mapped to the model's weight keys.
struct LoRATargets {
    private var byPath: [String: String] = [:]
    private var byFlattenedPath: [String: String] = [:]

    /// `keys`: the component's weight keys. A text encoder's keys may or may not start with
    /// `text_model.` (hub repositories vs transformers 5), and so may a LoRA's names: both are
    /// matched without it.
    ///
    /// `unetConfig`: the keys are a U-Net's of this config, whose layers kohya-ss names either by
    /// their diffusers paths (`lora_unet_down_blocks_0_…`, SD 1.x/2.x) or by LDM's
    /// (`lora_unet_input_blocks_1_0_…`, SDXL, which it trains on sgm's U-Net): both are matched.
    init(keys: [String], unetConfig: UNetConfig? = nil) {
        for key in keys where key.hasSuffix(".weight") {
            let path = Self.withoutTextModel(String(key.dropLast(".weight".count)), separator: ".")
            byPath[path] = key
            byFlattenedPath[Self.flattened(path)] = key
        }
        guard let unetConfig else { return }
        // LDM's names (input_blocks, middle_block, output_blocks, time_embed, label_emb, out) share
        // none with diffusers', so the two sets of flattened names cannot collide.
        for layer in SingleFileKeyMap.unetLayers(unetConfig, labelEmbedding: unetConfig.textTimeEmbedding != nil) {
            if let key = byPath[layer.name] { byFlattenedPath[Self.flattened(layer.original)] = key }
        }
    }

    private static func flattened(_ path: String) -> String { path.replacingOccurrences(of: ".", with: "_") }

    func weightKey(for name: LoRAModuleName) -> String? {
        switch name {
        case .path(let path): return byPath[Self.withoutTextModel(path, separator: ".")]
        case .flattened(let name): return byFlattenedPath[Self.withoutTextModel(name, separator: "_")]
        }
    }

    private static func withoutTextModel(_ path: String, separator: String) -> String {
        let prefix = "text_model" + separator
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}

/// One LoRA module matched to a model weight, at the strength asked for.
struct WeightDelta: Sendable {
    let module: LoRAModule
    let strength: Float

    /// weight += strength · scale · up · down, over the weight's values viewed as [out, rest].
    func add(to weight: inout Tensor) throws {
        let out = module.outputs, rank = module.rank, columns = module.columns
        let (upWeight, downWeight) = try module.weights()
        upWeight.data.withUnsafeBufferPointer { up in
            downWeight.data.withUnsafeBufferPointer { down in
                weight.data.withUnsafeMutableBufferPointer { w in
                    gemm(m: out, n: columns, k: rank, alpha: strength * module.scale,
                         a: MatrixOperand(fp32: up.baseAddress!, leadingDimension: rank),
                         b: MatrixOperand(fp32: down.baseAddress!, leadingDimension: columns),
                         beta: 1, c: w.baseAddress!, ldc: columns)
                }
            }
        }
    }
}

/// A component's weights with LoRA changes added where they apply: every other key reads from the
/// base store untouched, so merging and unmerging never accumulate rounding — an empty set of
/// LoRAs gives back exactly the loaded weights.
struct LoRAMergedStore: TensorStore {
    let base: any TensorStore
    let deltas: [String: [WeightDelta]]

    var keys: [String] { base.keys }
    func contains(_ key: String) -> Bool { base.contains(key) }
    func shape(of key: String) -> [Int]? { base.shape(of: key) }
    var origin: String { base.origin }

    func tensor(_ key: String) throws -> Tensor {
        var tensor = try base.tensor(key)
        for delta in deltas[key] ?? [] { try delta.add(to: &tensor) }
        return tensor
    }

    func matrix(_ key: String, precision: Precision, use: WeightUse) throws -> WeightMatrix {
        guard deltas[key] != nil else { return try base.matrix(key, precision: precision, use: use) }
        return WeightMatrix(try tensor(key), precision: precision, use: use)
    }
}

extension LoRAFile {
    /// This file's modules for `component`, matched against the component's weights `store` (a
    /// U-Net's of `unetConfig`, whose layers are also found by their LDM names) at `strength`:
    /// weight key → changes. Throws, naming the file and the key, for a module that matches no
    /// weight or whose shape does not fit it.
    func deltas(for component: LoRAComponent, in store: any TensorStore, unetConfig: UNetConfig? = nil,
                strength: Float) throws -> [String: [WeightDelta]] {
        let targets = LoRATargets(keys: store.keys, unetConfig: unetConfig)
        var deltas: [String: [WeightDelta]] = [:]
        for module in modules where module.component == component {
            guard let key = targets.weightKey(for: module.name) else {
                throw LoRAError(file: url.path, key: module.key,
                                reason: "matches no layer of the model's \(component.rawValue) (\(module.name))")
            }
            let shape = store.shape(of: key) ?? []
            let out = module.outputs, columns = module.columns
            guard shape.first == out, shape.reduce(1, *) == out * columns else {
                throw LoRAError(file: url.path, key: module.key,
                                reason: "changes a [\(out), \(columns)] weight but \(key) is \(shape)")
            }
            deltas[key, default: []].append(WeightDelta(module: module, strength: strength))
        }
        return deltas
    }

    /// How many of this file's modules find a layer in `store` (`imagine inspect`), and the first
    /// that does not.
    func matchCount(for component: LoRAComponent, in store: (any TensorStore)?,
                    unetConfig: UNetConfig? = nil) -> (matched: Int, unmatched: Int, firstUnmatched: String?) {
        let mine = modules.filter { $0.component == component }
        guard let store else { return (0, mine.count, mine.first?.key) }
        let targets = LoRATargets(keys: store.keys, unetConfig: unetConfig)
        let unmatched = mine.filter { targets.weightKey(for: $0.name) == nil }
        return (mine.count - unmatched.count, unmatched.count, unmatched.first?.key)
    }
}

/// How many of a LoRA file's modules find a layer in one model component (`imagine inspect`).
public struct LoRAMatch: Sendable, Equatable {
    public let component: LoRAComponent
    public let matched: Int
    public let unmatched: Int
    /// The file's key of the first module that matches no layer.
    public let firstUnmatched: String?
}

extension LoRAFile {
    /// Matches this file's modules against the model at `path` (a diffusers folder or a
    /// single-file checkpoint), from the weight files' headers alone: one entry per component the
    /// file adapts.
    public func matches(modelAt path: URL) throws -> [LoRAMatch] {
        var stores: [LoRAComponent: any TensorStore] = [:]
        let unetConfig: UNetConfig
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory), isDirectory.boolValue {
            let unet = path.appendingPathComponent("unet")
            stores[.unet] = try ShardedStore(folder: unet)
            unetConfig = try UNetConfig(contentsOf: unet.appendingPathComponent("config.json"))
            stores[.textEncoder] = try ShardedStore(folder: path.appendingPathComponent("text_encoder"))
            let second = path.appendingPathComponent("text_encoder_2")
            if FileManager.default.fileExists(atPath: second.path) { stores[.textEncoder2] = try ShardedStore(folder: second) }
        } else {
            let checkpoint = try SingleFileCheckpoint(url: path)
            stores[.unet] = checkpoint.unet
            unetConfig = checkpoint.unetConfig
            stores[.textEncoder] = checkpoint.textEncoder
            stores[.textEncoder2] = checkpoint.textEncoder2
        }
        return LoRAComponent.allCases.compactMap { component in
            guard modules.contains(where: { $0.component == component }) else { return nil }
            let count = matchCount(for: component, in: stores[component],
                                   unetConfig: component == .unet ? unetConfig : nil)
            return LoRAMatch(component: component, matched: count.matched, unmatched: count.unmatched,
                             firstUnmatched: count.firstUnmatched)
        }
    }

    /// The ranks of its modules, smallest and largest.
    public var rankRange: ClosedRange<Int> {
        let ranks = modules.map(\.rank)
        return ranks.min()!...ranks.max()!
    }
}
