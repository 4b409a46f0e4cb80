/// Multi-head scaled dot-product attention for one batch item, on strided buffers.
///
///   query  [queryCount, heads·headDim] with row stride `queryStride`
///   key    [keyCount,   heads·headDim] with row stride `keyStride`
///   value  [keyCount,   heads·headDim] with row stride `valueStride`
///   output [queryCount, heads·headDim] with row stride `outputStride`
///   scores scratch of at least queryCount·keyCount floats
///
/// Head h reads columns h·headDim ..< (h+1)·headDim of each buffer, so fused QKV projections
/// ([tokens, 3·width]) need no reshaping: pass the same base with offsets 0, width, 2·width.
public func multiHeadAttention(
    query: UnsafePointer<Float>, queryStride: Int,
    key: UnsafePointer<Float>, keyStride: Int,
    value: UnsafePointer<Float>, valueStride: Int,
    output: UnsafeMutablePointer<Float>, outputStride: Int,
    queryCount: Int, keyCount: Int, heads: Int, headDim: Int,
    causal: Bool, scores: UnsafeMutablePointer<Float>
) {
    let scale = 1 / Float(headDim).squareRoot()
    for h in 0..<heads {
        let column = h * headDim
        // scores = Q_h · K_hᵀ  [queryCount, keyCount]
        gemm(transposeB: true, m: queryCount, n: keyCount, k: headDim,
             a: query + column, lda: queryStride,
             b: key + column, ldb: keyStride,
             c: scores, ldc: keyCount)
        softmaxRows(scores, rows: queryCount, width: keyCount, rowStride: keyCount,
                    scale: scale, causal: causal, causalOffset: keyCount - queryCount)
        // output_h = softmax · V_h  [queryCount, headDim]
        gemm(m: queryCount, n: headDim, k: keyCount,
             a: scores, lda: keyCount,
             b: value + column, ldb: valueStride,
             c: output + column, ldc: outputStride)
    }
}
