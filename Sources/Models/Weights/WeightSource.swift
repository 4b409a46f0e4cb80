import Foundation
import Kernels

/// Where model weights come from: one safetensors file, several shards, or a renamed view of a
/// checkpoint. Keys use diffusers/transformers names (`encoder.layers.0.mlp.fc1.weight`).
public protocol TensorStore: Sendable {
    /// Every key this store can produce.
    var keys: [String] { get }
    func contains(_ key: String) -> Bool
    /// The stored shape, without reading the data.
    func shape(of key: String) -> [Int]?
    /// The tensor converted to fp32.
    func tensor(_ key: String) throws -> Tensor
    /// A layer's weight kept in `precision`, packed for `use` when bf16 (the default converts
    /// through `tensor`).
    func matrix(_ key: String, precision: Precision, use: WeightUse) throws -> WeightMatrix
    /// What to call this store in an error message (a file path).
    var origin: String { get }
}

extension TensorStore {
    public func matrix(_ key: String, precision: Precision, use: WeightUse) throws -> WeightMatrix {
        WeightMatrix(try tensor(key), precision: precision, use: use)
    }
}

extension SafetensorsFile: TensorStore {
    public var keys: [String] { tensorNames }
    public func shape(of key: String) -> [Int]? { info(key)?.shape }
    public var origin: String { url.path }
}

/// A model's weights failed to load: names the file, the key and the numbers that disagree.
public struct WeightError: Error, CustomStringConvertible, Equatable {
    public let origin: String
    public let key: String
    public let reason: String
    public var description: String { "\(origin): '\(key)': \(reason)" }
}

/// A cursor into a `TensorStore` under a key prefix, mirroring the module tree of the reference
/// implementation: `weights["encoder"]["layers"][3]["self_attn"].tensor("q_proj.weight")`.
///
/// `precision` is the one layers keep their weight matrices in (`matrix`); biases, norms and
/// embeddings always load as fp32 (`tensor`).
public struct Weights: Sendable {
    public let store: any TensorStore
    public let prefix: String
    public let precision: Precision

    public init(_ store: any TensorStore, prefix: String = "", precision: Precision = .fp32) {
        self.store = store
        self.prefix = prefix
        self.precision = precision
    }

    /// The sub-module `name` (a dotted path or a list index).
    public subscript(_ name: String) -> Weights { Weights(store, prefix: key(name) + ".", precision: precision) }
    public subscript(_ index: Int) -> Weights { self[String(index)] }

    public func key(_ name: String) -> String { prefix + name }
    public func contains(_ name: String) -> Bool { store.contains(key(name)) }

    /// Loads `name`, checking its shape when `shape` is given (a wrong shape means a wrong
    /// config or a mismatched checkpoint, and is caught here rather than as a crash in a kernel).
    public func tensor(_ name: String, shape: [Int]? = nil) throws -> Tensor {
        try store.tensor(try checkedKey(name, shape: shape))
    }

    /// Loads the weight matrix `name` in `precision` for `use`, checking its shape like `tensor`.
    public func matrix(_ name: String, shape: [Int], use: WeightUse) throws -> WeightMatrix {
        let fullKey = try checkedKey(name, shape: shape)
        return try store.matrix(fullKey, precision: precision, use: use)
    }

    private func checkedKey(_ name: String, shape: [Int]?) throws -> String {
        let fullKey = key(name)
        guard let stored = store.shape(of: fullKey) else {
            throw WeightError(origin: store.origin, key: fullKey, reason: "missing")
        }
        if let shape, stored != shape {
            throw WeightError(origin: store.origin, key: fullKey,
                              reason: "shape \(stored) does not match the config's \(shape)")
        }
        return fullKey
    }
}
