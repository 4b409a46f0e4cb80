/// Multi-head scaled dot-product attention for one batch item, on strided buffers.
///
///   query  [queryCount, heads·headDim] with row stride `queryStride`
///   key    [keyCount,   heads·headDim] with row stride `keyStride`
///   value  [keyCount,   heads·headDim] with row stride `valueStride`
///   output [queryCount, heads·headDim] with row stride `outputStride`
///   scores scratch of at least `attentionScratchCount(…)` floats
///   precision: the GEMMs' (see `gemm`): the model's own, so a bf16 model attends in bf16
///
/// Head h reads columns h·headDim ..< (h+1)·headDim of each buffer, so fused QKV projections
/// ([tokens, 3·width]) need no reshaping: pass the same base with offsets 0, width, 2·width.
///
/// Heads too small for `gemm` to split (the U-Net's 16² and 8² levels, the text encoder) run in
/// parallel instead, one score matrix per thread; large heads run one after another with each
/// GEMM and the softmax split across the threads. Heads whose score matrix would outgrow the
/// caches (4096² at 512², 64 MB) run in blocks of queries instead.
public func multiHeadAttention(
    query: UnsafePointer<Float>, queryStride: Int,
    key: UnsafePointer<Float>, keyStride: Int,
    value: UnsafePointer<Float>, valueStride: Int,
    output: UnsafeMutablePointer<Float>, outputStride: Int,
    queryCount: Int, keyCount: Int, heads: Int, headDim: Int,
    causal: Bool, scores: UnsafeMutablePointer<Float>, precision: Precision = .fp32
) {
    let scale = 1 / Float(headDim).squareRoot()
    /// Head h's attention for query rows first ..< first + rows, with `keys` = K_hᵀ and
    /// `values` = V_h as GEMM operands and the rows' scores in `scores`.
    func attend(head h: Int, rows first: Int, _ rows: Int, keys: MatrixOperand, values: MatrixOperand,
                scores: UnsafeMutablePointer<Float>, parallel: Bool) {
        let column = h * headDim
        // scores = Q_h · K_hᵀ  [rows, keyCount]
        gemm(m: rows, n: keyCount, k: headDim,
             a: MatrixOperand(fp32: query + first * queryStride + column, leadingDimension: queryStride),
             b: keys, c: scores, ldc: keyCount, precision: precision, parallel: parallel)
        softmaxRows(scores, rows: rows, width: keyCount, rowStride: keyCount, scale: scale,
                    causal: causal, causalOffset: keyCount - queryCount + first, parallel: parallel)
        // output_h = softmax · V_h  [rows, headDim]
        gemm(m: rows, n: headDim, k: keyCount,
             a: MatrixOperand(fp32: scores, leadingDimension: keyCount), b: values,
             c: output + first * outputStride + column, ldc: outputStride, precision: precision, parallel: parallel)
    }
    func keys(_ h: Int) -> MatrixOperand {
        MatrixOperand(fp32: key + h * headDim, leadingDimension: keyStride, transposed: true)
    }
    func values(_ h: Int) -> MatrixOperand {
        MatrixOperand(fp32: value + h * headDim, leadingDimension: valueStride)
    }

    if attentionRunsInQueryBlocks(queryCount: queryCount, keyCount: keyCount) {
        // A block's scores [block, keys] are computed, normalised and multiplied by V while they
        // are still in the core's cache; blocks run in parallel. Measured at 512² (SD 2.x U-Net,
        // 4096 tokens, 5 heads of 64): the whole 64 MB score matrix made Q·Kᵀ and P·V run at 265
        // and 344 GFLOP/s (memory-bound: every score written, read by the softmax, read again by
        // P·V) where the model's other GEMMs run at 600–750. Each row's softmax sees all its keys,
        // so no running maximum (online softmax) is needed. In bf16, K and V are packed once per
        // head and every block reuses them.
        let block = attentionQueryBlock(keyCount: keyCount)
        let blocks = (queryCount + block - 1) / block
        let chunks = min(Threads.count, blocks)
        for h in 0..<heads {
            func attendBlocks(keys: MatrixOperand, values: MatrixOperand) {
                parallelFor(chunks) { range in
                    for chunk in range {
                        for b in blocks * chunk / chunks ..< blocks * (chunk + 1) / chunks {
                            attend(head: h, rows: b * block, min(block, queryCount - b * block),
                                   keys: keys, values: values, scores: scores + chunk * block * keyCount,
                                   parallel: false)
                        }
                    }
                }
            }
            guard precision == .bf16 else {
                attendBlocks(keys: keys(h), values: values(h))
                continue
            }
            let packedKeys = PackedBFloat16Matrix(packingB: keys(h), k: headDim, n: keyCount)
            let packedValues = PackedBFloat16Matrix(packingB: values(h), k: keyCount, n: headDim)
            packedKeys.withOperand { keys in
                packedValues.withOperand { values in attendBlocks(keys: keys, values: values) }
            }
        }
        return
    }
    let headParallel = attentionRunsHeadsInParallel(queryCount: queryCount, keyCount: keyCount, heads: heads,
                                                    headDim: headDim)
    guard headParallel else {
        for h in 0..<heads {
            attend(head: h, rows: 0, queryCount, keys: keys(h), values: values(h), scores: scores, parallel: true)
        }
        return
    }
    let chunks = min(Threads.count, heads)
    parallelFor(chunks) { range in
        for chunk in range {
            for h in heads * chunk / chunks ..< heads * (chunk + 1) / chunks {
                attend(head: h, rows: 0, queryCount, keys: keys(h), values: values(h),
                       scores: scores + chunk * queryCount * keyCount, parallel: false)
            }
        }
    }
}

/// Floats of `scores` scratch that `multiHeadAttention` needs for these sizes.
public func attentionScratchCount(queryCount: Int, keyCount: Int, heads: Int, headDim: Int) -> Int {
    if attentionRunsInQueryBlocks(queryCount: queryCount, keyCount: keyCount) {
        return Threads.count * attentionQueryBlock(keyCount: keyCount) * keyCount
    }
    let matrices = attentionRunsHeadsInParallel(queryCount: queryCount, keyCount: keyCount, heads: heads,
                                                headDim: headDim) ? min(Threads.count, heads) : 1
    return matrices * queryCount * keyCount
}

/// Whether a head's GEMMs are below what `gemm` splits across threads (so its heads go to
/// different threads instead).
private func attentionRunsHeadsInParallel(queryCount: Int, keyCount: Int, heads: Int, headDim: Int) -> Bool {
    heads > 1 && Threads.count > 1 && queryCount * keyCount * headDim < 2 * gemmMinimumPartWork
}

// MARK: - Attention in blocks of queries

/// Score matrices above this many floats (4 MB, four times a core's L2) are never built whole.
let blockedAttentionMinimumScores = 1 << 20

private func attentionRunsInQueryBlocks(queryCount: Int, keyCount: Int) -> Bool {
    queryCount * keyCount >= blockedAttentionMinimumScores && queryCount >= 2 * attentionQueryBlock(keyCount: keyCount)
}

/// Query rows per block: the block's scores (rows × keys, fp32) take half of a 1 MB L2, in a
/// multiple of 12 rows (the bf16 kernel's register tile).
func attentionQueryBlock(keyCount: Int) -> Int {
    max(12, (128 << 10) / max(1, keyCount) / 12 * 12)
}
