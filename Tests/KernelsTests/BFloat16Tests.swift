import Foundation
import Testing
import Kernels

/// The bf16 path: rounding, weight storage, and the AVX512-BF16 GEMM against a Double product of
/// the same bf16-rounded operands (so only the fp32 summation may differ, not the rounding).
@Suite(.enabled(if: Precision.bf16Available, "this CPU has no AVX512-BF16"))
struct BFloat16Tests {
    /// bf16 bits of x widened back to fp32.
    static func roundTrip(_ x: Float) -> Float {
        Float(bitPattern: UInt32(roundedToBFloat16([x])[0]) << 16)
    }

    @Test func roundingIsToNearestWithTiesToEven() {
        #expect(Self.roundTrip(1) == 1)
        #expect(Self.roundTrip(-2.5) == -2.5)
        // 1 + 2⁻⁸ lies halfway between 1 and 1 + 2⁻⁷: ties go to the even mantissa, 1.
        #expect(Self.roundTrip(1 + 0x1p-8) == 1)
        // 1 + 3·2⁻⁸ lies halfway between 1 + 2⁻⁷ and 1 + 2⁻⁶: the even one is 1 + 2⁻⁶.
        #expect(Self.roundTrip(1 + 3 * 0x1p-8) == 1 + 0x1p-6)
        #expect(Self.roundTrip(1 + 0x1p-8 + 0x1p-20) == 1 + 0x1p-7)
        #expect(Self.roundTrip(.infinity) == .infinity)
        #expect(Self.roundTrip(.nan).isNaN)
        #expect(Self.roundTrip(.greatestFiniteMagnitude) == .infinity)
    }

    @Test func weightMatrixKeepsShapeAndStacksRows() {
        let a = randomTensor([3, 4], seed: 1), b = randomTensor([2, 4], seed: 2)
        let stacked = WeightMatrix.stackingRows([WeightMatrix(a, precision: .bf16, use: .linear),
                                                 WeightMatrix(b, precision: .bf16, use: .linear)])
        #expect(stacked.shape == [5, 4])
        #expect(stacked.precision == .bf16)
        #expect(stacked.floats == (a.data + b.data).map(Self.roundTrip))
        #expect(stacked.reshaped([5, 2, 2]).floats == stacked.floats)
        #expect(WeightMatrix(a, precision: .fp32, use: .linear).floats == a.data)
        // Rows read back from the packed layout (embedding lookups), on both sides of a panel
        // boundary (32 rows) and with an odd width.
        let table = WeightMatrix(randomTensor([40, 7], seed: 14), precision: .bf16, use: .linear)
        for row in [0, 31, 32, 39] {
            var sum = [Float](repeating: 1, count: 7)
            sum.withUnsafeMutableBufferPointer { table.addRow(row, to: $0.baseAddress!) }
            #expect(sum == Array(table.floats[row * 7 ..< row * 7 + 7]).map { $0 + 1 })
        }
        // Packing round-trips for both uses, whatever the panel padding.
        for use in [WeightUse.convolution, .linear] {
            let odd = randomTensor([37, 3, 3, 3], seed: 9)
            #expect(WeightMatrix(odd, precision: .bf16, use: use).floats == odd.data.map(Self.roundTrip))
        }
    }

    // Shapes past every blocking size of the kernel (MR 12, NR 32, KC 512, MC 144, NC 1024),
    // odd k, and ones `gemm` splits across threads by rows and by columns.
    @Test(arguments: [(1, 1, 1), (3, 5, 7), (13, 33, 9), (150, 70, 515), (20, 1100, 40), (301, 173, 300),
                      (97, 515, 1031)])
    func gemmMatchesRoundedOperandsInDouble(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        for (transposeA, transposeB) in [(false, false), (false, true), (true, false), (true, true)] {
            for storedBF16 in [false, true] {
                let lda = (transposeA ? m : k) + 3, ldb = (transposeB ? k : n) + 2, ldc = n + 5
                let a = randomTensor([(transposeA ? k : m) * lda], seed: 1)
                let b = randomTensor([(transposeB ? n : k) * ldb], seed: 2)
                let aBits = roundedToBFloat16(a.data), bBits = roundedToBFloat16(b.data)
                let aRounded = aBits.map { Double(Float(bitPattern: UInt32($0) << 16)) }
                let bRounded = bBits.map { Double(Float(bitPattern: UInt32($0) << 16)) }
                var c = randomTensor([m * ldc], seed: 3)
                let c0 = c.data
                let alpha: Float = 0.7, beta: Float = storedBF16 ? 1 : 0
                // A as a weight: its logical [m, k] packed once in bf16 (the same rounded values).
                let logicalA = Tensor(shape: [m, k], data: (0..<m * k).map { e in
                    let (i, p) = (e / k, e % k)
                    return transposeA ? a.data[p * lda + i] : a.data[i * lda + p]
                })
                let weightA = WeightMatrix(logicalA, precision: .bf16, use: .convolution)
                a.data.withUnsafeBufferPointer { af in
                    b.data.withUnsafeBufferPointer { bf in
                        c.data.withUnsafeMutableBufferPointer { cp in
                            let bOperand = MatrixOperand(fp32: bf.baseAddress!, leadingDimension: ldb, transposed: transposeB)
                            if storedBF16 {
                                weightA.withOperand(for: .convolution, transposed: false, leadingDimension: k) { aOperand in
                                    gemm(m: m, n: n, k: k, alpha: alpha, a: aOperand, b: bOperand, beta: beta,
                                         c: cp.baseAddress!, ldc: ldc)
                                }
                            } else {
                                // Both fp32, bf16 asked for.
                                gemm(m: m, n: n, k: k, alpha: alpha,
                                     a: MatrixOperand(fp32: af.baseAddress!, leadingDimension: lda, transposed: transposeA),
                                     b: bOperand, beta: beta, c: cp.baseAddress!, ldc: ldc, precision: .bf16)
                            }
                        }
                    }
                }
                var worst = 0.0, largest = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = 0.0
                        for p in 0..<k {
                            let av = transposeA ? aRounded[p * lda + i] : aRounded[i * lda + p]
                            let bv = transposeB ? bRounded[j * ldb + p] : bRounded[p * ldb + j]
                            sum += av * bv
                        }
                        let expected = Double(alpha) * sum + Double(beta) * Double(c0[i * ldc + j])
                        worst = max(worst, abs(expected - Double(c.data[i * ldc + j])))
                        largest = max(largest, abs(expected))
                    }
                    for j in n..<ldc { #expect(c.data[i * ldc + j] == c0[i * ldc + j]) }
                }
                // Only fp32 summation error remains: far below bf16's own 2⁻⁹.
                #expect(worst <= 2e-6 * Double(k).squareRoot() * max(1, largest),
                        "m\(m) n\(n) k\(k) tA\(transposeA) tB\(transposeB) bf16 weights \(storedBF16): \(worst)")
            }
        }
    }

    /// Weights packed at load, as A (convolutions) and as B (linear layers), on shapes with partial
    /// panels, several k slices and thread splits.
    @Test(arguments: [(1, 1, 1), (13, 33, 9), (150, 70, 515), (301, 173, 1030), (40, 1100, 64)])
    func packedWeightsMatchRoundedOperandsInDouble(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        for use in [WeightUse.convolution, .linear] {
            // Convolution: C = W[m, k] · X[k, n]. Linear: C = X[m, k] · W[n, k]ᵀ.
            let weight = randomTensor(use == .convolution ? [m, k] : [n, k], seed: 10)
            let input = randomTensor(use == .convolution ? [k, n] : [m, k], seed: 11)
            let packed = WeightMatrix(weight, precision: .bf16, use: use)
            let w = packed.floats.map(Double.init)
            let x = roundedToBFloat16(input.data).map { Double(Float(bitPattern: UInt32($0) << 16)) }
            var c = Tensor(zeros: [m, n])
            input.data.withUnsafeBufferPointer { xp in
                c.data.withUnsafeMutableBufferPointer { cp in
                    if use == .convolution {
                        packed.withOperand(for: use, transposed: false, leadingDimension: k) { a in
                            gemm(m: m, n: n, k: k, a: a, b: MatrixOperand(fp32: xp.baseAddress!, leadingDimension: n),
                                 c: cp.baseAddress!, ldc: n)
                        }
                    } else {
                        packed.withOperand(for: use, transposed: true, leadingDimension: k) { b in
                            gemm(m: m, n: n, k: k, a: MatrixOperand(fp32: xp.baseAddress!, leadingDimension: k), b: b,
                                 c: cp.baseAddress!, ldc: n)
                        }
                    }
                }
            }
            var worst = 0.0, largest = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k {
                        sum += use == .convolution ? w[i * k + p] * x[p * n + j] : x[i * k + p] * w[j * k + p]
                    }
                    worst = max(worst, abs(sum - Double(c.data[i * n + j])))
                    largest = max(largest, abs(sum))
                }
            }
            #expect(worst <= 2e-6 * Double(k).squareRoot() * max(1, largest), "m\(m) n\(n) k\(k) \(use): \(worst)")
        }
    }

    /// bf16 attention (both score paths: whole matrices, and blocks of queries with K and V
    /// packed once) against fp32 attention, within bf16's error.
    @Test(arguments: [(77, 77, 4, 16), (1100, 1000, 2, 24)])
    func attentionInBFloat16StaysCloseToFP32(shape: (Int, Int, Int, Int)) {
        let (queries, keys, heads, headDim) = shape
        let inner = heads * headDim
        let q = randomTensor([queries * inner], seed: 12, scale: 2)
        let kv = randomTensor([keys * 2 * inner], seed: 13, scale: 2)
        func attend(_ precision: Precision) -> [Float] {
            var out = [Float](repeating: 0, count: queries * inner)
            var scratch = [Float](repeating: 0, count: attentionScratchCount(
                queryCount: queries, keyCount: keys, heads: heads, headDim: headDim))
            q.data.withUnsafeBufferPointer { qp in
                kv.data.withUnsafeBufferPointer { kp in
                    out.withUnsafeMutableBufferPointer { op in
                        scratch.withUnsafeMutableBufferPointer { sp in
                            multiHeadAttention(
                                query: qp.baseAddress!, queryStride: inner,
                                key: kp.baseAddress!, keyStride: 2 * inner,
                                value: kp.baseAddress! + inner, valueStride: 2 * inner,
                                output: op.baseAddress!, outputStride: inner,
                                queryCount: queries, keyCount: keys, heads: heads, headDim: headDim,
                                causal: false, scores: sp.baseAddress!, precision: precision)
                        }
                    }
                }
            }
            return out
        }
        let reference = attend(.fp32), result = attend(.bf16)
        let largest = reference.reduce(0) { max($0, abs($1)) }
        #expect(maxDifference(reference, result) < 2e-2 * largest)
        #expect(maxDifference(reference, result) > 0)  // it did run in bf16
    }

    /// Linear layers and every convolution path (1×1 and strided on the bf16 GEMM, 3×3 by fp32
    /// Winograd from the widened weights) with bf16 weights stay within bf16's error of fp32.
    @Test func layersWithBFloat16WeightsStayCloseToFP32() {
        let x = randomTensor([77, 96], seed: 4)
        let w = randomTensor([64, 96], seed: 5), bias = randomTensor([64], seed: 6)
        let exact = linear(x, weight: .fp32(w), bias: bias)
        let rounded = linear(x, weight: WeightMatrix(w, precision: .bf16, use: .linear), bias: bias)
        #expect(maxDifference(exact.data, rounded.data) < 2e-2 * exact.maxAbs)

        let image = randomTensor([2, 24, 40, 40], seed: 7)
        for (kernel, stride) in [(1, 1), (3, 2), (3, 1)] {  // direct, im2col, Winograd
            let weight = randomTensor([32, 24, kernel, kernel], seed: 8)
            let geometry = ConvolutionGeometry(kernel: kernel, stride: stride, padding: kernel / 2)
            let reference = conv2d(image, weight: .fp32(weight), bias: nil, geometry: geometry)
            let result = conv2d(image, weight: WeightMatrix(weight, precision: .bf16, use: .convolution), bias: nil,
                                geometry: geometry)
            #expect(result.shape == reference.shape)
            #expect(maxDifference(reference.data, result.data) < 2e-2 * reference.maxAbs, "kernel \(kernel) stride \(stride)")
        }
    }
}
