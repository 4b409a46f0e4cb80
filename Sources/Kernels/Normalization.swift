/// LayerNorm over the last dimension: x [rows, width], gamma/beta [width].
///
/// Biased variance and eps inside the square root, as `torch.nn.LayerNorm`. Two passes (mean,
/// then squared deviations) to avoid the cancellation of E[x²] − E[x]².
public func layerNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, eps: Float) -> Tensor {
    let width = gamma.count
    precondition(x.shape.last == width && beta.count == width,
                 "layerNorm: input width \(x.shape.last ?? 0), gamma \(width), beta \(beta.count)")
    let rows = x.count / width
    var y = Tensor(uninitialized: x.shape)
    x.data.withUnsafeBufferPointer { xp in
        y.data.withUnsafeMutableBufferPointer { yp in
            gamma.data.withUnsafeBufferPointer { gp in
                beta.data.withUnsafeBufferPointer { bp in
                    let xs = xp.baseAddress!, ys = yp.baseAddress!, g = gp.baseAddress!, b = bp.baseAddress!
                    parallelFor(rows, minimumPerThread: max(1, 8_192 / width)) { range in
                        for r in range {
                            let row = xs + r * width, out = ys + r * width
                            var sum: Float = 0
                            for c in 0..<width { sum += row[c] }
                            let mean = sum / Float(width)
                            var squares: Float = 0
                            for c in 0..<width {
                                let d = row[c] - mean
                                squares += d * d
                            }
                            let inverseStd = 1 / (squares / Float(width) + eps).squareRoot()
                            for c in 0..<width { out[c] = (row[c] - mean) * inverseStd * g[c] + b[c] }
                        }
                    }
                }
            }
        }
    }
    return y
}
