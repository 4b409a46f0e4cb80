// Winograd F(4×4, 3×3) for 3×3 stride-1 convolutions (Lavin & Gray 2015, "Fast Algorithms for
// Convolutional Neural Networks"). Each 4×4 block of output pixels is computed from the 6×6 input
// tile that covers it:
//
//     Y = Aᵀ · [(G g Gᵀ) ⊙ (Bᵀ d B)] · A        d: 6×6 input tile, g: 3×3 filter, Y: 4×4 output
//
// Summed over input channels, the element-wise products become 36 independent GEMMs (one per
// position ξ of the 6×6 transformed tile): M[ξ] [out, tiles] = U[ξ] [out, in] · V[ξ] [in, tiles].
// That is 36 multiplications per 16 outputs instead of 144 (4× fewer FLOPs than im2col + GEMM),
// and V holds 36/16 = 2.25 floats per input pixel and channel where im2col writes 9.
//
// Interpolation points 0, ±1, ±2, ∞. In fp32 the error grows with the points' magnitude (the
// transforms multiply by up to 8): against a Double reference it measured 2–3e-6 of the output's
// largest value (im2col: ~1e-7; see KernelsTests), and the full-size VAE decoder stays at ~1e-5
// of diffusers' output, inside the models' parity tolerance of 1e-4.
//
// The image is split into bands of tile rows so that V and M stay in the last-level cache. Each
// band runs in three parallel phases: the input transform split by input channel, the 36 GEMMs
// split by ξ (each GEMM whole on one thread, so each [out, in] slice of U is packed once), the
// output transform split by output channel.

/// Bytes of V + M per band: both stay in L3 (32 MB here, shared by the cores) between the phases.
let winogradBandBytes = 12 << 20

/// Tiles per band at least (when the image has them): each GEMM packs its [out, in] slice of U
/// again per band, which a band of fewer tiles does not repay.
let winogradMinimumBandTiles = 256

/// Whether `conv2d` takes the Winograd path for this convolution. The weight transform writes
/// 36·out·in floats per call and each GEMM packs a 1 MB slice of U for as few as 64 tiles, so
/// deep layers with few pixels stay on im2col below 1 tile per 8 input channels. The factor comes
/// from that cost estimate: on the shared 2-core machine, U-Net timings with 4, 8 or 16 could
/// not be told apart from noise.
///
/// bf16 weights need more than 16 tiles: Winograd widens them to fp32 and transforms them on every
/// call and then multiplies in fp32, while im2col multiplies in bf16 at about twice fp32's rate;
/// on a 16×16 output (imagine-mini's U-Net at its 128² preview) im2col made the U-Net 6 % faster
/// (Zen 4, six alternating runs of 40), while the decoders' larger outputs stayed faster with
/// Winograd.
public func winogradPays(geometry g: ConvolutionGeometry, inChannels: Int, outHeight: Int, outWidth: Int,
                         bf16Weights: Bool = false) -> Bool {
    guard g.kernel == 3 && g.stride == 1 else { return false }
    let tiles = ((outHeight + 3) / 4) * ((outWidth + 3) / 4)
    return tiles >= (bf16Weights ? 17 : 16) && tiles * 8 >= inChannels
}

/// 3×3 stride-1 convolution of a batch of images by Winograd F(4×4, 3×3). The weights are
/// transformed once for the whole batch (classifier-free guidance runs batch 2).
///
///   images [batch, inChannels, height, width]
///   weight [outChannels, inChannels, 3, 3]
///   bias   [outChannels] or nil
///   output [batch, outChannels, outHeight, outWidth]
///   inputTransform: applied to each input row as the input transform reads it
func winogradConvolution3x3(
    images: UnsafePointer<Float>, batch: Int, inChannels: Int, height: Int, width: Int,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outChannels: Int,
    geometry g: ConvolutionGeometry,
    output: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int,
    inputTransform: ChannelTransform? = nil
) {
    let tilesY = (outHeight + 3) / 4, tilesX = (outWidth + 3) / 4
    let rowBytes = 4 * 36 * (inChannels + outChannels) * tilesX
    let bandTileRows = min(tilesY, max(winogradBandBytes / rowBytes,
                                       (winogradMinimumBandTiles + tilesX - 1) / tilesX, 1))
    let bandTiles = bandTileRows * tilesX

    let u = UnsafeMutablePointer<Float>.allocate(capacity: 36 * outChannels * inChannels)  // U [36, out, in]
    let v = UnsafeMutablePointer<Float>.allocate(capacity: 36 * inChannels * bandTiles)    // V [36, in, tiles]
    let m = UnsafeMutablePointer<Float>.allocate(capacity: 36 * outChannels * bandTiles)   // M [36, out, tiles]
    defer {
        u.deallocate()
        v.deallocate()
        m.deallocate()
    }
    parallelFor(outChannels) { range in
        winogradWeightTransform(weight, outChannels: range, inChannels: inChannels, into: u,
                                plane: outChannels * inChannels)
    }
    for n in 0..<batch {
        let image = images + n * inChannels * height * width
        let output = output + n * outChannels * outHeight * outWidth
        for firstTileRow in stride(from: 0, to: tilesY, by: bandTileRows) {
            let tileRows = min(bandTileRows, tilesY - firstTileRow)
            let tiles = tileRows * tilesX
            parallelFor(inChannels) { range in
                winogradInputTransform(image, channels: range, height: height, width: width,
                                       padTop: g.padTop, padLeft: g.padLeft, firstTileRow: firstTileRow,
                                       tileRows: tileRows, tilesX: tilesX, into: v, channelStride: tiles,
                                       xiStride: inChannels * tiles, transform: inputTransform,
                                       firstPlane: n * inChannels)
            }
            parallelFor(36) { range in
                for xi in range {
                    gemm(m: outChannels, n: tiles, k: inChannels,
                         a: MatrixOperand(fp32: u + xi * outChannels * inChannels, leadingDimension: inChannels),
                         b: MatrixOperand(fp32: v + xi * inChannels * tiles, leadingDimension: tiles),
                         c: m + xi * outChannels * tiles, ldc: tiles, parallel: false)
                }
            }
            parallelFor(outChannels) { range in
                winogradOutputTransform(m, channels: range, bias: bias, firstTileRow: firstTileRow,
                                        tileRows: tileRows, tilesX: tilesX, channelStride: tiles,
                                        xiStride: outChannels * tiles,
                                        into: output, outHeight: outHeight, outWidth: outWidth)
            }
        }
    }
}

// MARK: - The three transforms, each a 1-D map applied along both axes of a tile
//
// Every loop below is written on 16-lane vectors: LLVM left the plain scalar loops unvectorized
// (36 output streams are too many for its run-time alias checks), which made the weight transform
// alone 40 % of the VAE's time at 256².

typealias Lanes = SIMD16<Float>

/// Lanes i ..< i + valid of p (valid ≤ 16), zero beyond.
@inline(__always)
private func load(_ p: UnsafePointer<Float>, _ i: Int, _ valid: Int) -> Lanes {
    if valid == 16 { return UnsafeRawPointer(p + i).loadUnaligned(as: Lanes.self) }
    var v = Lanes(repeating: 0)
    for l in 0..<valid { v[l] = p[i + l] }
    return v
}

/// Writes the first `valid` lanes of v to p[i ..< i + valid].
@inline(__always)
private func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ valid: Int) {
    if valid == 16 {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Lanes.self)
        return
    }
    for l in 0..<valid { p[i + l] = v[l] }
}

/// Calls body(i, valid) for i = 0, 16, 32, … < count, valid = min(16, count − i).
@inline(__always)
private func forEachVector(_ count: Int, _ body: (Int, Int) -> Void) {
    var i = 0
    while i < count {
        body(i, min(16, count - i))
        i += 16
    }
}

/// G·(g0, g1, g2): a filter row or column of 3 → 6.
@inline(__always)
private func filter1D(_ g0: Lanes, _ g1: Lanes, _ g2: Lanes) -> (Lanes, Lanes, Lanes, Lanes, Lanes, Lanes) {
    let even = (g0 + g2) * (-1.0 / 6), odd = g1 * (-1.0 / 6)
    let even2 = g0 * (1.0 / 24) + g2 * (1.0 / 6), odd2 = g1 * (1.0 / 12)
    return (g0 * 0.25, even + odd, even - odd, even2 + odd2, even2 - odd2, g2)
}

/// Bᵀ·(d0 … d5): an input row or column of 6 → 6.
@inline(__always)
private func input1D(_ d0: Lanes, _ d1: Lanes, _ d2: Lanes, _ d3: Lanes, _ d4: Lanes, _ d5: Lanes)
    -> (Lanes, Lanes, Lanes, Lanes, Lanes, Lanes) {
    let a = d3 + d4 - 4 * (d1 + d2), b = d4 - d3 + 4 * (d1 - d2)
    let c = d4 - d2, e = 2 * (d3 - d1)
    return (4 * d0 - 5 * d2 + d4, a, b, c + e, c - e, 4 * d1 - 5 * d3 + d5)
}

/// Aᵀ·(m0 … m5): a transformed row or column of 6 → 4 outputs.
@inline(__always)
private func output1D(_ m0: Lanes, _ m1: Lanes, _ m2: Lanes, _ m3: Lanes, _ m4: Lanes, _ m5: Lanes)
    -> (Lanes, Lanes, Lanes, Lanes) {
    let sum12 = m1 + m2, difference12 = m1 - m2, sum34 = m3 + m4, difference34 = m3 - m4
    return (m0 + sum12 + sum34, difference12 + 2 * difference34,
            sum12 + 4 * sum34, difference12 + 8 * difference34 + m5)
}

/// U[ξ][o][i] = (G · weight[o][i] · Gᵀ)[ξ] for the output channels `outChannels`.
///
///   weight [·, inChannels, 3, 3] → u [36, ·, inChannels], `plane` floats per ξ
private func winogradWeightTransform(_ weight: UnsafePointer<Float>, outChannels: Range<Int>, inChannels: Int,
                                     into u: UnsafeMutablePointer<Float>, plane: Int) {
    // One output channel's filters split by tap (g_k[i] = weight[o][i][k]), so that the
    // transform reads 9 contiguous rows and writes 36 contiguous rows.
    let taps = UnsafeMutablePointer<Float>.allocate(capacity: 9 * inChannels)
    defer { taps.deallocate() }
    for o in outChannels {
        let filters = weight + o * inChannels * 9
        for i in 0..<inChannels {
            for k in 0..<9 { taps[k * inChannels + i] = filters[i * 9 + k] }
        }
        let target = u + o * inChannels
        forEachVector(inChannels) { i, valid in
            @inline(__always) func tap(_ k: Int) -> Lanes { load(taps + k * inChannels, i, valid) }
            // G down the 3 filter columns, then G along each of the 6 rows.
            let c0 = filter1D(tap(0), tap(3), tap(6)), c1 = filter1D(tap(1), tap(4), tap(7))
            let c2 = filter1D(tap(2), tap(5), tap(8))
            @inline(__always) func row(_ r: Int, _ a: Lanes, _ b: Lanes, _ c: Lanes) {
                let f = filter1D(a, b, c), t = target + 6 * r * plane
                store(f.0, t, i, valid); store(f.1, t + plane, i, valid); store(f.2, t + 2 * plane, i, valid)
                store(f.3, t + 3 * plane, i, valid); store(f.4, t + 4 * plane, i, valid)
                store(f.5, t + 5 * plane, i, valid)
            }
            row(0, c0.0, c1.0, c2.0)
            row(1, c0.1, c1.1, c2.1)
            row(2, c0.2, c1.2, c2.2)
            row(3, c0.3, c1.3, c2.3)
            row(4, c0.4, c1.4, c2.4)
            row(5, c0.5, c1.5, c2.5)
        }
    }
}

/// V[ξ][c][t] = (Bᵀ · d · B)[ξ] for the 6×6 input tile d of each tile t in the band and each
/// channel c in `channels`; pixels outside the image read as zero. With `transform`, d is the
/// transformed input (channel c's coefficients at plane firstPlane + c), padding still zero.
///
///   image [·, height, width] → v [36, ·, tileRows·tilesX] with the given strides
private func winogradInputTransform(
    _ image: UnsafePointer<Float>, channels: Range<Int>, height: Int, width: Int, padTop: Int, padLeft: Int,
    firstTileRow: Int, tileRows: Int, tilesX: Int, into v: UnsafeMutablePointer<Float>,
    channelStride: Int, xiStride: Int, transform: ChannelTransform?, firstPlane: Int
) {
    // Tile tx reads padded columns 4·tx … 4·tx + 5; the last 16 tiles' vector loads (below) read
    // 16 columns past the last tile.
    let paddedWidth = 4 * tilesX + 16
    // Six vertically transformed rows, zero outside the image's columns, and a row of zeros that
    // stands in for rows above or below the image.
    let scratch = 6 * paddedWidth + width
    let rows = UnsafeMutablePointer<Float>.allocate(capacity: scratch)
    defer { rows.deallocate() }
    rows.initialize(repeating: 0, count: scratch)
    let zeros = UnsafePointer(rows + 6 * paddedWidth)
    // The six transformed input rows of a tile row, when there is a transform.
    let transformed = transform == nil ? nil : UnsafeMutablePointer<Float>.allocate(capacity: 6 * width)
    defer { transformed?.deallocate() }
    for c in channels {
        let plane = image + c * height * width
        for tileRow in 0..<tileRows {
            let top = 4 * (firstTileRow + tileRow) - padTop
            func row(_ k: Int) -> UnsafePointer<Float> {
                let y = top + k
                guard y >= 0 && y < height else { return zeros }
                guard let transform, let transformed else { return plane + y * width }
                // Rows overlap between tile rows (6 read, 4 advanced): each is transformed 1.5×
                // on average, cheaper than storing the transformed image.
                transform.apply(plane + y * width, transformed + k * width, count: width, plane: firstPlane + c)
                return UnsafePointer(transformed + k * width)
            }
            // Bᵀ along y, over whole rows.
            let d0 = row(0), d1 = row(1), d2 = row(2), d3 = row(3), d4 = row(4), d5 = row(5)
            let r = rows + padLeft
            forEachVector(width) { x, valid in
                let t = input1D(load(d0, x, valid), load(d1, x, valid), load(d2, x, valid),
                                load(d3, x, valid), load(d4, x, valid), load(d5, x, valid))
                store(t.0, r, x, valid); store(t.1, r + paddedWidth, x, valid)
                store(t.2, r + 2 * paddedWidth, x, valid); store(t.3, r + 3 * paddedWidth, x, valid)
                store(t.4, r + 4 * paddedWidth, x, valid); store(t.5, r + 5 * paddedWidth, x, valid)
            }
            // B along x, 16 tiles at a time.
            let target = v + c * channelStride + tileRow * tilesX
            for i in 0..<6 {
                let source = UnsafePointer(rows + i * paddedWidth), out = target + 6 * i * xiStride
                forEachVector(tilesX) { tx, valid in
                    let d = tileColumns(source, tx, valid)
                    let t = input1D(d.0, d.1, d.2, d.3, d.4, d.5)
                    store(t.0, out, tx, valid); store(t.1, out + xiStride, tx, valid)
                    store(t.2, out + 2 * xiStride, tx, valid); store(t.3, out + 3 * xiStride, tx, valid)
                    store(t.4, out + 4 * xiStride, tx, valid); store(t.5, out + 5 * xiStride, tx, valid)
                }
            }
        }
    }
}

/// Columns k = 0 … 5 of tiles tx ..< tx + valid: lane l of result k is row[4·(tx + l) + k].
/// Gathered in registers from five vector loads (the constant lane picks compile to permutes):
/// splitting the row into memory first and reloading it shifted by one tile stalled on store
/// forwarding, half the transform's time.
@inline(__always)
private func tileColumns(_ row: UnsafePointer<Float>, _ tx: Int, _ valid: Int)
    -> (Lanes, Lanes, Lanes, Lanes, Lanes, Lanes) {
    guard valid == 16 else {
        var d0 = Lanes(), d1 = Lanes(), d2 = Lanes(), d3 = Lanes(), d4 = Lanes(), d5 = Lanes()
        for l in 0..<valid {
            let s = row + 4 * (tx + l)
            d0[l] = s[0]; d1[l] = s[1]; d2[l] = s[2]; d3[l] = s[3]; d4[l] = s[4]; d5[l] = s[5]
        }
        return (d0, d1, d2, d3, d4, d5)
    }
    let a = load(row, 4 * tx, 16), b = load(row, 4 * tx + 16, 16), c = load(row, 4 * tx + 32, 16)
    let d = load(row, 4 * tx + 48, 16), e = load(row, 4 * tx + 64, 16)
    @inline(__always) func column(_ k: Int) -> Lanes {
        Lanes(a[k], a[k + 4], a[k + 8], a[k + 12], b[k], b[k + 4], b[k + 8], b[k + 12],
              c[k], c[k + 4], c[k + 8], c[k + 12], d[k], d[k + 4], d[k + 8], d[k + 12])
    }
    @inline(__always) func nextColumn(_ k: Int) -> Lanes {
        Lanes(a[k + 4], a[k + 8], a[k + 12], b[k], b[k + 4], b[k + 8], b[k + 12], c[k],
              c[k + 4], c[k + 8], c[k + 12], d[k], d[k + 4], d[k + 8], d[k + 12], e[k])
    }
    return (column(0), column(1), column(2), column(3), nextColumn(0), nextColumn(1))
}

/// output[o] rows of the band = Aᵀ · M[·][o][t] · A + bias[o] for each tile t and each output
/// channel o in `channels`; tiles that overhang the bottom or right edge keep only their pixels
/// inside the output.
///
///   m [36, ·, tileRows·tilesX] with the given strides → output [·, outHeight, outWidth]
private func winogradOutputTransform(
    _ m: UnsafePointer<Float>, channels: Range<Int>, bias: UnsafePointer<Float>?,
    firstTileRow: Int, tileRows: Int, tilesX: Int, channelStride: Int, xiStride: Int,
    into output: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int
) {
    // Aᵀ along y gives 4 × 6 rows of tilesX values; A along x then one line of 4·tilesX pixels,
    // wider than the output when the last tile overhangs.
    let columns = UnsafeMutablePointer<Float>.allocate(capacity: 24 * tilesX)
    let line = UnsafeMutablePointer<Float>.allocate(capacity: 4 * tilesX)
    defer {
        columns.deallocate()
        line.deallocate()
    }
    for o in channels {
        let shift = bias?[o] ?? 0
        for tileRow in 0..<tileRows {
            let source = m + o * channelStride + tileRow * tilesX
            for j in 0..<6 {
                // Column position j of every tile: ξ = 6·i + j for i = 0 … 5.
                let s = source + j * xiStride, q = columns + j * tilesX, step = 6 * xiStride, rowStep = 6 * tilesX
                forEachVector(tilesX) { tx, valid in
                    let t = output1D(load(s, tx, valid), load(s + step, tx, valid), load(s + 2 * step, tx, valid),
                                     load(s + 3 * step, tx, valid), load(s + 4 * step, tx, valid),
                                     load(s + 5 * step, tx, valid))
                    store(t.0, q, tx, valid); store(t.1, q + rowStep, tx, valid)
                    store(t.2, q + 2 * rowStep, tx, valid); store(t.3, q + 3 * rowStep, tx, valid)
                }
            }
            let top = 4 * (firstTileRow + tileRow)
            let exact = outWidth == 4 * tilesX
            for i in 0..<min(4, outHeight - top) {
                let target = output + (o * outHeight + top + i) * outWidth
                horizontalOutputTransform(columns + 6 * i * tilesX, count: tilesX, shift: shift,
                                          into: exact ? target : line)
                if !exact { target.update(from: line, count: outWidth) }
            }
        }
    }
}

/// line[4·tx + k] = (Aᵀ · (q[tx], q[count + tx], … q[5·count + tx]))_k + shift: A along one output
/// row of every tile, the four results of each tile interleaved back into pixel order.
@inline(__always)
private func horizontalOutputTransform(_ q: UnsafePointer<Float>, count: Int, shift: Float,
                                       into line: UnsafeMutablePointer<Float>) {
    forEachVector(count) { tx, valid in
        let t = output1D(load(q, tx, valid), load(q + count, tx, valid), load(q + 2 * count, tx, valid),
                         load(q + 3 * count, tx, valid), load(q + 4 * count, tx, valid),
                         load(q + 5 * count, tx, valid))
        let a = t.0 + shift, b = t.1 + shift, c = t.2 + shift, d = t.3 + shift
        if valid == 16 {
            @inline(__always) func pixels(_ k: Int) -> Lanes {
                Lanes(a[k], b[k], c[k], d[k], a[k + 1], b[k + 1], c[k + 1], d[k + 1],
                      a[k + 2], b[k + 2], c[k + 2], d[k + 2], a[k + 3], b[k + 3], c[k + 3], d[k + 3])
            }
            store(pixels(0), line, 4 * tx, 16); store(pixels(4), line, 4 * tx + 16, 16)
            store(pixels(8), line, 4 * tx + 32, 16); store(pixels(12), line, 4 * tx + 48, 16)
        } else {
            for l in 0..<valid {
                line[4 * (tx + l)] = a[l]; line[4 * (tx + l) + 1] = b[l]
                line[4 * (tx + l) + 2] = c[l]; line[4 * (tx + l) + 3] = d[l]
            }
        }
    }
}
