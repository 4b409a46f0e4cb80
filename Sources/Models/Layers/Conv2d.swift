import Kernels

/// `torch.nn.Conv2d` with square kernels, NCHW.
public struct Conv2d: Sendable {
    public let weight: WeightMatrix  // [out, in, kernel, kernel]
    public let bias: Tensor?         // [out]
    public let geometry: ConvolutionGeometry

    public init(_ weights: Weights, inChannels: Int, outChannels: Int, kernel: Int,
                stride: Int = 1, padding: Int? = nil, bias: Bool = true) throws {
        weight = try weights.matrix("weight", shape: [outChannels, inChannels, kernel, kernel], use: .convolution)
        self.bias = bias ? try weights.tensor("bias", shape: [outChannels]) : nil
        geometry = ConvolutionGeometry(kernel: kernel, stride: stride, padding: padding ?? kernel / 2)
    }

    public init(weight: WeightMatrix, bias: Tensor?, geometry: ConvolutionGeometry) {
        self.weight = weight
        self.bias = bias
        self.geometry = geometry
    }

    public var outChannels: Int { weight.shape[0] }

    /// x [batch, in, height, width] → [batch, out, height', width']
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias, geometry: geometry)
    }

    /// conv(activation(norm(x))) without storing the normalised input (see `ChannelTransform`).
    public func callAsFunction(_ x: Tensor, normalizedBy norm: GroupNorm, activation: Activation?) -> Tensor {
        conv2d(x, weight: weight, bias: bias, geometry: geometry,
               inputTransform: groupNormTransform(x, groups: norm.groups, gamma: norm.gamma, beta: norm.beta,
                                                  eps: norm.eps, activation: activation))
    }
}
