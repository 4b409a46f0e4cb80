import Foundation
import Kernels


func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = SplitMix64(seed: seed)
    let count = shape.reduce(1, *)
    return Tensor(shape: shape, data: (0..<count).map { _ in Float.random(in: -scale...scale, using: &rng) })
}

/// Largest |a − b| over two equally long arrays.
func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "lengths \(a.count) and \(b.count) differ")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

extension Tensor {
    /// Largest absolute value; 0 for an empty tensor (the scale of a relative error).
    var maxAbs: Float { data.reduce(0) { max($0, abs($1)) } }
}
