/// Softmax of each row of `scores` [rows, width] in place, after multiplying by `scale`.
///
/// With `causal`, row r may see columns 0…(r + causalOffset) only; the rest become exactly 0
/// (PyTorch adds −∞/finfo.min before the softmax, which gives the same zeros).
@inlinable
public func softmaxRows(
    _ scores: UnsafeMutablePointer<Float>, rows: Int, width: Int, rowStride: Int,
    scale: Float = 1, causal: Bool = false, causalOffset: Int = 0
) {
    parallelFor(rows, minimumPerThread: max(1, 4_096 / max(1, width))) { range in
        for r in range {
            let row = scores + r * rowStride
            let visible = causal ? min(width, max(0, r + causalOffset + 1)) : width
            var maximum = -Float.infinity
            for c in 0..<visible { maximum = max(maximum, row[c]) }
            var sum: Float = 0
            for c in 0..<visible {
                let e = fastExp((row[c] - maximum) * scale)
                row[c] = e
                sum += e
            }
            let inverse = 1 / sum
            for c in 0..<visible { row[c] *= inverse }
            for c in visible..<width { row[c] = 0 }
        }
    }
}
