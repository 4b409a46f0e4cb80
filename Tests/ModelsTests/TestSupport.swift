import Kernels

/// max |a − b| over two tensors of the same shape.
func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    zip(a.data, b.data).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

extension Tensor {
    /// Largest absolute value; 0 for an empty tensor (the scale of a relative error).
    var maxAbs: Float { data.reduce(0) { max($0, abs($1)) } }
}
