import CBLAS

/// The one matrix-multiply entry point: C[m, n] = alpha · op(A)[m, k] · op(B)[k, n] + beta · C.
///
/// Row-major with leading dimensions, so callers can multiply strided sub-matrices (one attention
/// head's columns of a [tokens, heads·dim] buffer) without copying them out.
///
/// OpenBLAS runs on one thread (see `Threads`); parallelism is ours: the longer of m and n
/// is cut into one contiguous part per thread, each an independent single-threaded sgemm (each
/// part packs the other operand again, the shorter one). OpenBLAS's own pool used to sit between
/// GEMMs spinning in sched_yield, competing with our `parallelFor` loops: ~7 % of the U-Net's
/// time went to the scheduler and 2 threads ran only 1.6–1.7× faster than 1. Cutting m or n
/// never changes the order of the k-sums, so results do not depend on the thread count.
/// `parallel: false` is for callers that already run inside `parallelFor`.
@inlinable
public func gemm(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    parallel: Bool = true
) {
    @inline(__always) func multiply(_ m: Int, _ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                    _ c: UnsafeMutablePointer<Float>) {
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb),
            beta, c, Int32(ldc))
    }
    // Parts of at least ~4 M multiply-adds: below that a dispatch and a second packing of the
    // shared operand cost more than the second core gains.
    let threads = Threads.count  // also keeps OpenBLAS on one thread (see `Threads`)
    let parts = parallel ? min(threads, max(1, m * n * k / gemmMinimumPartWork)) : 1
    if parts <= 1 {
        multiply(m, n, a, b, c)
        return
    }
    let splitRows = m >= n
    let length = splitRows ? m : n
    // Part boundaries on multiples of 16 (the kernels' register blocking) where the matrix allows.
    let parallelParts = min(parts, max(1, length / 16))
    parallelFor(parallelParts) { range in
        for part in range {
            let start = (length * part / parallelParts) & ~15
            let end = part == parallelParts - 1 ? length : (length * (part + 1) / parallelParts) & ~15
            guard end > start else { continue }
            if splitRows {
                multiply(end - start, n, a + start * (transposeA ? 1 : lda), b, c + start * ldc)
            } else {
                multiply(m, end - start, a, b + start * (transposeB ? ldb : 1), c + start)
            }
        }
    }
}

/// Multiply-adds per GEMM part at least (see `gemm`).
public let gemmMinimumPartWork = 4 << 20

/// A fully connected layer: y[rows, out] = x[rows, in] · weight[out, in]ᵀ + bias[out].
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let outFeatures = weight.shape[0], inFeatures = weight.shape[1]
    precondition(x.shape.last == inFeatures,
                 "linear: input has \(x.shape.last ?? 0) features, weight expects \(inFeatures)")
    let rows = x.count / inFeatures
    var outShape = x.shape
    outShape[outShape.count - 1] = outFeatures
    var y = Tensor(uninitialized: outShape)
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
