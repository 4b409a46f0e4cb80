import CBLAS

/// The one matrix-multiply entry point: C[m, n] = alpha · op(A)[m, k] · op(B)[k, n] + beta · C.
///
/// Row-major with leading dimensions, so callers can multiply strided sub-matrices (one attention
/// head's columns of a [tokens, heads·dim] buffer) without copying them out.
@inlinable
public func gemm(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    cblas_sgemm(
        CblasRowMajor,
        transposeA ? CblasTrans : CblasNoTrans,
        transposeB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k),
        alpha, a, Int32(lda), b, Int32(ldb),
        beta, c, Int32(ldc))
}

/// A fully connected layer: y[rows, out] = x[rows, in] · weight[out, in]ᵀ + bias[out].
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let outFeatures = weight.shape[0], inFeatures = weight.shape[1]
    precondition(x.shape.last == inFeatures,
                 "linear: input has \(x.shape.last ?? 0) features, weight expects \(inFeatures)")
    let rows = x.count / inFeatures
    var outShape = x.shape
    outShape[outShape.count - 1] = outFeatures
    var y = Tensor(zeros: outShape)
    y.data.withUnsafeMutableBufferPointer { yp in
        if let bias {
            // Start from the bias so the GEMM adds onto it (beta = 1): no second pass.
            bias.data.withUnsafeBufferPointer { bp in
                for r in 0..<rows {
                    (yp.baseAddress! + r * outFeatures).update(from: bp.baseAddress!, count: outFeatures)
                }
            }
        }
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
                gemm(transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                     a: xp.baseAddress!, lda: inFeatures,
                     b: wp.baseAddress!, ldb: inFeatures,
                     beta: bias == nil ? 0 : 1,
                     c: yp.baseAddress!, ldc: outFeatures)
            }
        }
    }
    return y
}
