/// [batch, rows, cols] → [batch, cols, rows]: moves between NCHW images ([b, channels, pixels]) and
/// token sequences ([b, pixels, channels]) around the U-Net's transformer blocks.
public func transposeLastTwo(_ x: Tensor, rows: Int, cols: Int) -> Tensor {
    let batch = x.count / (rows * cols)
    precondition(batch * rows * cols == x.count, "transpose: \(x.shape) is not [b, \(rows), \(cols)]")
    var y = Tensor(uninitialized: [batch, cols, rows])
    // 32×32 tiles keep both the reads and the writes within a few cache lines.
    let tile = 32
    x.data.withUnsafeBufferPointer { xp in
        y.data.withUnsafeMutableBufferPointer { yp in
            let xs = xp.baseAddress!, ys = yp.baseAddress!
            let rowTiles = (rows + tile - 1) / tile
            parallelFor(batch * rowTiles) { range in
                for item in range {
                    let b = item / rowTiles, r0 = (item % rowTiles) * tile
                    let source = xs + b * rows * cols, target = ys + b * rows * cols
                    for c0 in stride(from: 0, to: cols, by: tile) {
                        for r in r0 ..< min(r0 + tile, rows) {
                            for c in c0 ..< min(c0 + tile, cols) { target[c * rows + r] = source[r * cols + c] }
                        }
                    }
                }
            }
        }
    }
    return y
}
