import CBFloat16GEMM
import CBLAS

/// One operand of `gemm`: a row-major fp32 matrix with `leadingDimension` elements per stored row,
/// used as it is or transposed; or a bf16 matrix packed for the bf16 kernel
/// (`PackedBFloat16Matrix`), whose leading dimension is its panel stride in words.
public struct MatrixOperand {
    @usableFromInline enum Elements {
        case fp32(UnsafePointer<Float>)
        /// Panels of `width` output features: A's rows or B's columns.
        case packed(UnsafePointer<UInt32>, width: Int)
    }
    @usableFromInline let elements: Elements
    @usableFromInline let leadingDimension: Int
    @usableFromInline let transposed: Bool

    @inlinable
    public init(fp32 pointer: UnsafePointer<Float>, leadingDimension: Int, transposed: Bool = false) {
        elements = .fp32(pointer)
        self.leadingDimension = leadingDimension
        self.transposed = transposed
    }

    @inlinable
    public init(packed pointer: UnsafePointer<UInt32>, panelWidth: Int, panelStride: Int) {
        elements = .packed(pointer, width: panelWidth)
        leadingDimension = panelStride
        transposed = false
    }

    @usableFromInline var isFP32: Bool {
        if case .fp32 = elements { return true }
        return false
    }

    /// Where `gemm` may cut this operand between threads: packed panels only whole.
    @usableFromInline var splitAlignment: Int {
        if case .packed(_, let width) = elements { return width }
        return 16  // the kernels' register blocking
    }

    /// The operand from logical row `row`, column `column` on (a packed weight: along its panels,
    /// by whole panels).
    @inlinable
    func offset(row: Int, column: Int) -> MatrixOperand {
        let elementOffset = transposed ? column * leadingDimension + row : row * leadingDimension + column
        switch elements {
        case .fp32(let p): return MatrixOperand(fp32: p + elementOffset, leadingDimension: leadingDimension, transposed: transposed)
        case .packed(let p, let width):
            let features = row + column  // one of them is zero: the side the panels run along
            precondition((row == 0 || column == 0) && features % width == 0, "a packed weight splits by whole panels")
            return MatrixOperand(packed: p + features / width * leadingDimension, panelWidth: width,
                                 panelStride: leadingDimension)
        }
    }

    /// The C kernel's description (element (i, k) at data[i·rowStride + k·colStride]).
    @usableFromInline var descriptor: imagine_matrix {
        let (rowStride, colStride) = transposed ? (1, leadingDimension) : (leadingDimension, 1)
        switch elements {
        case .fp32(let p): return imagine_matrix(data: p, is_bf16: 0, is_packed: 0, row_stride: rowStride, col_stride: colStride)
        case .packed(let p, _): return imagine_matrix(data: p, is_bf16: 1, is_packed: 1, row_stride: leadingDimension, col_stride: 0)
        }
    }
}

/// The one matrix-multiply entry point: C[m, n] = alpha · A[m, k] · B[k, n] + beta · C, C
/// row-major with row stride ldc.
///
/// Operands carry their own layout (`MatrixOperand`), so callers multiply strided sub-matrices
/// (one attention head's columns of a [tokens, heads·dim] buffer) without copying them out.
///
/// fp32 × fp32 at `precision` fp32 runs OpenBLAS's sgemm. A packed operand, or `precision` bf16,
/// runs our AVX512-BF16 kernel (fp32 operands rounded to bf16 as they are packed, fp32 sums);
/// it takes beta 0 or 1 only, which is all the models use.
///
/// OpenBLAS runs on one thread (see `Threads`); parallelism is ours: the longer of m and n
/// is cut into one contiguous part per thread, each an independent single-threaded GEMM (each
/// part packs the other operand again, the shorter one). OpenBLAS's own pool used to sit between
/// GEMMs spinning in sched_yield, competing with our `parallelFor` loops: ~7 % of the U-Net's
/// time went to the scheduler and 2 threads ran only 1.6–1.7× faster than 1. Cutting m or n
/// never changes the order of the k-sums, so results do not depend on the thread count.
/// `parallel: false` is for callers that already run inside `parallelFor`.
@inlinable
public func gemm(
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: MatrixOperand, b: MatrixOperand,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    precision: Precision = .fp32,
    parallel: Bool = true
) {
    let usesBF16 = precision == .bf16 || !a.isFP32 || !b.isFP32
    if usesBF16 {
        precondition(beta == 0 || beta == 1, "bf16 gemm: beta must be 0 or 1, got \(beta)")
        precondition(Precision.bf16Available, Precision.bf16.unavailableReason ?? "")
    }
    @inline(__always) func multiply(_ m: Int, _ n: Int, _ a: MatrixOperand, _ b: MatrixOperand,
                                    _ c: UnsafeMutablePointer<Float>) {
        if usesBF16 {
            imagine_bf16_gemm(m, n, k, alpha, a.descriptor, b.descriptor, beta == 0 ? 0 : 1, c, ldc)
            return
        }
        guard case .fp32(let ap) = a.elements, case .fp32(let bp) = b.elements else { return }
        cblas_sgemm(
            CblasRowMajor,
            a.transposed ? CblasTrans : CblasNoTrans,
            b.transposed ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, ap, Int32(a.leadingDimension), bp, Int32(b.leadingDimension),
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
    // Part boundaries on multiples of the kernels' register blocking (a packed weight's panels).
    let alignment = splitRows ? a.splitAlignment : b.splitAlignment
    let parallelParts = min(parts, max(1, length / alignment))
    parallelFor(parallelParts) { range in
        for part in range {
            let start = length * part / parallelParts / alignment * alignment
            let end = part == parallelParts - 1 ? length : length * (part + 1) / parallelParts / alignment * alignment
            guard end > start else { continue }
            if splitRows {
                multiply(end - start, n, a.offset(row: start, column: 0), b, c + start * ldc)
            } else {
                multiply(m, end - start, a, b.offset(row: 0, column: start), c + start)
            }
        }
    }
}

/// Multiply-adds per GEMM part at least (see `gemm`).
public let gemmMinimumPartWork = 4 << 20

/// A fully connected layer: y[rows, out] = x[rows, in] · weight[out, in]ᵀ + bias[out].
public func linear(_ x: Tensor, weight: WeightMatrix, bias: Tensor?) -> Tensor {
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
            weight.withOperand(for: .linear, transposed: true, leadingDimension: inFeatures) { w in
                gemm(m: rows, n: outFeatures, k: inFeatures,
                     a: MatrixOperand(fp32: xp.baseAddress!, leadingDimension: inFeatures), b: w,
                     beta: bias == nil ? 0 : 1,
                     c: yp.baseAddress!, ldc: outFeatures)
            }
        }
    }
    return y
}
