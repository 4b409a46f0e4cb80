/// A dense fp32 tensor, row-major (NCHW for images, [tokens, channels] for sequences).
///
/// Value semantics through `[Float]`: models hold their weights as `Tensor`s and kernels work on
/// raw buffers (`withUnsafeBufferPointer`), so the type stays a plain container.
public struct Tensor: Sendable, Equatable {
    public private(set) var shape: [Int]
    public var data: [Float]

    /// A zero-filled tensor.
    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// A tensor whose values are garbage until written: for kernel outputs that write every
    /// element, so that a large activation is not zero-filled only to be overwritten.
    public init(uninitialized shape: [Int]) {
        self.shape = shape
        self.data = [Float](unsafeUninitializedCapacity: shape.reduce(1, *)) { _, count in
            count = shape.reduce(1, *)
        }
    }

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count,
                     "shape \(shape) holds \(shape.reduce(1, *)) values, data has \(data.count)")
        self.shape = shape
        self.data = data
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// The same values under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// Rows `range` of a tensor viewed as [shape[0], rest].
    public func rows(_ range: Range<Int>) -> Tensor {
        let width = count / shape[0]
        var newShape = shape
        newShape[0] = range.count
        return Tensor(shape: newShape, data: Array(data[range.lowerBound * width ..< range.upperBound * width]))
    }
}
