import Kernels

/// `torch.nn.GroupNorm` with its affine weights; the activation that always follows it in the
/// U-Net and VAE can run in the same pass.
public struct GroupNorm: Sendable {
    public let groups: Int
    public let gamma: Tensor  // [channels]
    public let beta: Tensor   // [channels]
    public let eps: Float

    public init(_ weights: Weights, groups: Int, channels: Int, eps: Float) throws {
        self.groups = groups
        gamma = try weights.tensor("weight", shape: [channels])
        beta = try weights.tensor("bias", shape: [channels])
        self.eps = eps
    }

    /// x [batch, channels, ...] → same shape
    public func callAsFunction(_ x: Tensor, activation: Activation? = nil) -> Tensor {
        groupNorm(x, groups: groups, gamma: gamma, beta: beta, eps: eps, activation: activation)
    }
}
