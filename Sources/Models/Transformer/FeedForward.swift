import Kernels

/// The position-wise MLP of a transformer block: up-projection, activation, down-projection.
public struct FeedForward: Sendable {
    public enum Kind: Sendable, Equatable {
        /// up [inner, width] then an element-wise activation (CLIP: GELU or quick-GELU).
        case plain(Activation)
        /// up [2·inner, width] split into value and gate, value · GELU(gate) (the U-Net's GEGLU).
        case geglu
    }

    public let up: Linear
    public let down: Linear  // [width, inner]
    public let kind: Kind

    public init(up: Linear, down: Linear, kind: Kind) {
        self.up = up
        self.down = down
        self.kind = kind
    }

    /// x [..., width] → [..., width]
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var hidden = up(x)
        switch kind {
        case .plain(let activation): activate(&hidden, activation)
        case .geglu: hidden = geglu(hidden)
        }
        return down(hidden)
    }
}
