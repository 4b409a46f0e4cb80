import Kernels

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
