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
/// GEMM and the softmax split across the threads.
public func multiHeadAttention(
    query: UnsafePointer<Float>, queryStride: Int,
    key: UnsafePointer<Float>, keyStride: Int,
    value: UnsafePointer<Float>, valueStride: Int,
    output: UnsafeMutablePointer<Float>, outputStride: Int,
    queryCount: Int, keyCount: Int, heads: Int, headDim: Int,
    causal: Bool, scores: UnsafeMutablePointer<Float>, precision: Precision = .fp32
) {
    let scale = 1 / Float(headDim).squareRoot()
    let headParallel = attentionRunsHeadsInParallel(queryCount: queryCount, keyCount: keyCount, heads: heads,
                                                    headDim: headDim)
    func attend(_ heads: Range<Int>, scores: UnsafeMutablePointer<Float>, parallel: Bool) {
        for h in heads {
            let column = h * headDim
            // scores = Q_h · K_hᵀ  [queryCount, keyCount]
            gemm(transposeB: true, m: queryCount, n: keyCount, k: headDim,
                 a: query + column, lda: queryStride,
                 b: key + column, ldb: keyStride,
                 c: scores, ldc: keyCount, precision: precision, parallel: parallel)
            softmaxRows(scores, rows: queryCount, width: keyCount, rowStride: keyCount,
                        scale: scale, causal: causal, causalOffset: keyCount - queryCount, parallel: parallel)
            // output_h = softmax · V_h  [queryCount, headDim]
            gemm(m: queryCount, n: headDim, k: keyCount,
                 a: scores, lda: keyCount,
                 b: value + column, ldb: valueStride,
                 c: output + column, ldc: outputStride, precision: precision, parallel: parallel)
        }
    }
    guard headParallel else {
        attend(0..<heads, scores: scores, parallel: true)
        return
    }
    let chunks = min(Threads.count, heads)
    parallelFor(chunks) { range in
        for chunk in range {
            attend(heads * chunk / chunks ..< heads * (chunk + 1) / chunks,
                   scores: scores + chunk * queryCount * keyCount, parallel: false)
        }
    }
}

/// Floats of `scores` scratch that `multiHeadAttention` needs for these sizes.
public func attentionScratchCount(queryCount: Int, keyCount: Int, heads: Int, headDim: Int) -> Int {
    let matrices = attentionRunsHeadsInParallel(queryCount: queryCount, keyCount: keyCount, heads: heads,
                                                headDim: headDim) ? min(Threads.count, heads) : 1
    return matrices * queryCount * keyCount
}

/// Whether a head's GEMMs are below what `gemm` splits across threads (so its heads go to
/// different threads instead).
private func attentionRunsHeadsInParallel(queryCount: Int, keyCount: Int, heads: Int, headDim: Int) -> Bool {
    heads > 1 && Threads.count > 1 && queryCount * keyCount * headDim < 2 * gemmMinimumPartWork
}
