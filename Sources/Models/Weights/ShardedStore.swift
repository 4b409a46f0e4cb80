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

    /// A diffusers/transformers component folder's weights, the files `ModelInventory.weightFiles`
    /// finds there (shards included, full precision preferred over `.fp16.` variants).
    public init(folder: URL) throws {
        try self.init(files: try ModelInventory.weightFiles(in: folder))
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
