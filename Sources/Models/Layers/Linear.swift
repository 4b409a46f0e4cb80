import Kernels

/// y = x·Wᵀ + b over the last dimension.
public struct Linear: Sendable {
    public let weight: WeightMatrix  // [out, in]
    public let bias: Tensor?         // [out]

    public init(weight: WeightMatrix, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    /// Loads `weight` (in the precision `weights` asks for) and `bias` (fp32, when `bias` is true).
    public init(_ weights: Weights, inFeatures: Int, outFeatures: Int, bias: Bool = true) throws {
        self.weight = try weights.matrix("weight", shape: [outFeatures, inFeatures], use: .linear)
        self.bias = bias ? try weights.tensor("bias", shape: [outFeatures]) : nil
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// x [..., in] → [..., out]
    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }

    /// Several projections of the same input as one GEMM (their weights stacked by rows), which
    /// keeps the cores busier on short sequences than three thin GEMMs would.
    public static func stacked(_ parts: [Linear]) -> Linear {
        let hasBias = parts.contains { $0.bias != nil }
        let bias = hasBias
            ? Tensor(shape: [parts.reduce(0) { $0 + $1.outFeatures }],
                     data: parts.flatMap { $0.bias?.data ?? [Float](repeating: 0, count: $0.outFeatures) })
            : nil
        return Linear(weight: .stackingRows(parts.map(\.weight)), bias: bias)
    }
}
