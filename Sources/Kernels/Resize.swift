/// Nearest-neighbour 2× upsampling: x [batch, channels, height, width] → [.., 2·height, 2·width]
/// (`F.interpolate(scale_factor=2, mode="nearest")`, what the U-Net and VAE up-blocks use).
public func upsampleNearest2x(_ x: Tensor) -> Tensor {
    let planes = x.shape[0] * x.shape[1], height = x.shape[2], width = x.shape[3]
    var y = Tensor(uninitialized: [x.shape[0], x.shape[1], 2 * height, 2 * width])
    x.data.withUnsafeBufferPointer { xp in
        y.data.withUnsafeMutableBufferPointer { yp in
            let xs = xp.baseAddress!, ys = yp.baseAddress!
            parallelFor(planes) { range in
                for p in range {
                    let source = xs + p * height * width, target = ys + p * 4 * height * width
                    for row in 0..<height {
                        let line = target + 2 * row * 2 * width
                        for col in 0..<width {
                            let v = source[row * width + col]
                            line[2 * col] = v
                            line[2 * col + 1] = v
                        }
                        (line + 2 * width).update(from: line, count: 2 * width)
                    }
                }
            }
        }
    }
    return y
}

/// Nearest-neighbour resize to height × width (`F.interpolate(size=…, mode="nearest")`: source index
/// ⌊dst · in/out⌋). The exact 2× case takes the faster path above.
public func upsampleNearest(_ x: Tensor, height: Int, width: Int) -> Tensor {
    let inHeight = x.shape[2], inWidth = x.shape[3]
    if height == 2 * inHeight && width == 2 * inWidth { return upsampleNearest2x(x) }
    let planes = x.shape[0] * x.shape[1]
    let rowScale = Float(inHeight) / Float(height), colScale = Float(inWidth) / Float(width)
    let sourceCols = (0..<width).map { min(Int(Float($0) * colScale), inWidth - 1) }
    var y = Tensor(uninitialized: [x.shape[0], x.shape[1], height, width])
    x.data.withUnsafeBufferPointer { xp in
        y.data.withUnsafeMutableBufferPointer { yp in
            let xs = xp.baseAddress!, ys = yp.baseAddress!
            parallelFor(planes) { range in
                for p in range {
                    for row in 0..<height {
                        let sourceRow = min(Int(Float(row) * rowScale), inHeight - 1)
                        let source = xs + (p * inHeight + sourceRow) * inWidth
                        let target = ys + (p * height + row) * width
                        for col in 0..<width { target[col] = source[sourceCols[col]] }
                    }
                }
            }
        }
    }
    return y
}
