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

/// Concatenates along dimension 1 (channels): [b, c₁, …] + [b, c₂, …] → [b, c₁ + c₂, …]
/// (the U-Net's skip connections).
public func concatenateChannels(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape[0] == b.shape[0] && Array(a.shape.dropFirst(2)) == Array(b.shape.dropFirst(2)),
                 "concatenate: shapes \(a.shape) and \(b.shape) differ outside the channel dimension")
    let batch = a.shape[0]
    let aItem = a.count / batch, bItem = b.count / batch
    var shape = a.shape
    shape[1] += b.shape[1]
    var data = [Float]()
    data.reserveCapacity(a.count + b.count)
    for n in 0..<batch {
        data.append(contentsOf: a.data[n * aItem ..< (n + 1) * aItem])
        data.append(contentsOf: b.data[n * bItem ..< (n + 1) * bItem])
    }
    return Tensor(shape: shape, data: data)
}

/// Stacks two tensors along dimension 0 (batch): [a; b] (guidance runs the U-Net on
/// [unconditional; conditional] in one call).
public func concatenateBatch(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(Array(a.shape.dropFirst()) == Array(b.shape.dropFirst()), "batch concat: \(a.shape) vs \(b.shape)")
    var shape = a.shape
    shape[0] += b.shape[0]
    return Tensor(shape: shape, data: a.data + b.data)
}
