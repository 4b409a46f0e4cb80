import Foundation
import Kernels

/// Several safetensors files seen as one store: a component whose weights are split into shards
/// (`model-00001-of-00002.safetensors`, …). A key must live in exactly one file.
public struct ShardedStore: TensorStore {
    let files: [SafetensorsFile]
    let fileForKey: [String: Int]
    public let origin: String

    public init(files urls: [URL]) throws {
        let files = try urls.map { try SafetensorsFile(url: $0) }
        var fileForKey: [String: Int] = [:]
        for (index, file) in files.enumerated() {
            for key in file.tensorNames {
                if let other = fileForKey[key] {
                    throw WeightError(origin: file.url.path, key: key,
                                      reason: "also stored in \(files[other].url.path)")
                }
                fileForKey[key] = index
            }
        }
        self.files = files
        self.fileForKey = fileForKey
        self.origin = urls.count == 1 ? urls[0].path
            : urls[0].deletingLastPathComponent().path + "/{" + urls.map(\.lastPathComponent).joined(separator: ",") + "}"
    }

    /// A diffusers/transformers component folder's weights: `diffusion_pytorch_model*.safetensors`
    /// or `model*.safetensors` (shards included). Full precision is preferred when a folder carries
    /// both `model.safetensors` and a `model.fp16.safetensors` variant; other files are not weights.
    public init(folder: URL) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var weights = names.filter {
            $0.hasSuffix(".safetensors") && ($0.hasPrefix("diffusion_pytorch_model") || $0.hasPrefix("model"))
        }.sorted()
        let full = weights.filter { !$0.contains(".fp16.") }
        if !full.isEmpty { weights = full }
        guard !weights.isEmpty else {
            throw WeightError(origin: folder.path, key: "model.safetensors",
                              reason: "no weight file (diffusion_pytorch_model*.safetensors or model*.safetensors)")
        }
        try self.init(files: weights.map { folder.appendingPathComponent($0) })
    }

    public var keys: [String] { fileForKey.keys.sorted() }
    public func contains(_ key: String) -> Bool { fileForKey[key] != nil }
    public func shape(of key: String) -> [Int]? { fileForKey[key].flatMap { files[$0].info(key)?.shape } }

    public func tensor(_ key: String) throws -> Tensor {
        guard let index = fileForKey[key] else {
            throw WeightError(origin: origin, key: key, reason: "missing")
        }
        return try files[index].tensor(key)
    }

    public func matrix(_ key: String, precision: Precision, use: WeightUse) throws -> WeightMatrix {
        guard let index = fileForKey[key] else {
            throw WeightError(origin: origin, key: key, reason: "missing")
        }
        return try files[index].matrix(key, precision: precision, use: use)
    }
}
