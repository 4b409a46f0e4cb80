/// Softmax of each row of `scores` [rows, width] in place, after multiplying by `scale`.
///
/// With `causal`, row r may see columns 0…(r + causalOffset) only; the rest become exactly 0
/// (PyTorch adds −∞/finfo.min before the softmax, which gives the same zeros). `parallel: false`
/// is for callers already inside `parallelFor`.
public func softmaxRows(
    _ scores: UnsafeMutablePointer<Float>, rows: Int, width: Int, rowStride: Int,
    scale: Float = 1, causal: Bool = false, causalOffset: Int = 0, parallel: Bool = true
) {
    parallelFor(rows, minimumPerThread: parallel ? max(1, 4_096 / max(1, width)) : max(1, rows)) { range in
        for r in range {
            let row = scores + r * rowStride
            let visible = causal ? min(width, max(0, r + causalOffset + 1)) : width
            softmaxRow(row, count: visible, scale: scale)
            if visible < width { (row + visible).update(repeating: 0, count: width - visible) }
        }
    }
}

/// One row in three passes that the compiler vectorizes: the maximum and the sum keep 16 lanes
/// of partial results (a scalar float reduction would be summed strictly in order, one lane at a
/// time — measured 6 ns per element before this), and the exponentials are a plain map.
@inline(__always)
func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int, scale: Float) {
    guard count > 0 else { return }
    let vectors = count / 16
    let raw = UnsafeRawPointer(row)
    // Rows start anywhere in the score matrix, so vectors are loaded unaligned.
    func vector(_ i: Int) -> SIMD16<Float> { raw.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self) }
    var lanesMax = SIMD16<Float>(repeating: -.infinity)
    for i in 0..<vectors {
        // `replace(with:where:)`: pointwiseMax on float vectors is a per-lane library call.
        let v = vector(i)
        lanesMax.replace(with: v, where: v .> lanesMax)
    }
    var maximum = lanesMax.max()
    for c in vectors * 16 ..< count { maximum = max(maximum, row[c]) }

    let shift = maximum * scale
    for c in 0..<count { row[c] = fastExp(row[c] * scale - shift) }

    var lanesSum = SIMD16<Float>(repeating: 0)
    for i in 0..<vectors { lanesSum += vector(i) }
    var sum = lanesSum.sum()
    for c in vectors * 16 ..< count { sum += row[c] }
    let inverse = 1 / sum
    for c in 0..<count { row[c] *= inverse }
}
