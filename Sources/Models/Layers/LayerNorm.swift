import Kernels

/// `torch.nn.LayerNorm` over the last dimension.
public struct LayerNorm: Sendable {
    public let gamma: Tensor  // [width]
    public let beta: Tensor   // [width]
    public let eps: Float

    public init(_ weights: Weights, width: Int, eps: Float) throws {
        self.gamma = try weights.tensor("weight", shape: [width])
        self.beta = try weights.tensor("bias", shape: [width])
        self.eps = eps
    }

    /// x [..., width] → same shape
    public func callAsFunction(_ x: Tensor) -> Tensor {
        layerNorm(x, gamma: gamma, beta: beta, eps: eps)
    }
}
