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
