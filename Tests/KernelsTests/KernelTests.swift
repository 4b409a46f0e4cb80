import Foundation
import Testing
import Kernels

/// Each kernel against a naive loop in Double, on odd shapes that catch stride and tail bugs.
@Suite struct KernelTests {
    // The last two are big enough for `gemm` to split them across threads, by rows and by columns.
    @Test(arguments: [(1, 1, 1), (3, 5, 7), (17, 33, 9), (77, 129, 65), (130, 3, 257), (301, 173, 300), (97, 515, 200)])
    func gemmMatchesNaiveLoopForEveryTransposeAndStride(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                // Padded leading dimensions: the GEMM must honour strides, not assume dense rows.
                let lda = (transposeA ? m : k) + 3, ldb = (transposeB ? k : n) + 2, ldc = n + 5
                let a = randomTensor([(transposeA ? k : m) * lda], seed: 1)
                let b = randomTensor([(transposeB ? n : k) * ldb], seed: 2)
                var c = randomTensor([m * ldc], seed: 3)
                let c0 = c.data
                let alpha: Float = 0.7, beta: Float = -1.3
                a.data.withUnsafeBufferPointer { ap in
                    b.data.withUnsafeBufferPointer { bp in
                        c.data.withUnsafeMutableBufferPointer { cp in
                            gemm(m: m, n: n, k: k,
                                 alpha: alpha,
                                 a: MatrixOperand(fp32: ap.baseAddress!, leadingDimension: lda, transposed: transposeA),
                                 b: MatrixOperand(fp32: bp.baseAddress!, leadingDimension: ldb, transposed: transposeB),
                                 beta: beta, c: cp.baseAddress!, ldc: ldc)
                        }
                    }
                }
                var worst: Double = 0
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = 0.0
                        for p in 0..<k {
                            let av = transposeA ? a.data[p * lda + i] : a.data[i * lda + p]
                            let bv = transposeB ? b.data[j * ldb + p] : b.data[p * ldb + j]
                            sum += Double(av) * Double(bv)
                        }
                        let expected = Double(alpha) * sum + Double(beta) * Double(c0[i * ldc + j])
                        worst = max(worst, abs(expected - Double(c.data[i * ldc + j])))
                    }
                    // Columns past n in each row of C are padding and must be untouched.
                    for j in n..<ldc { #expect(c.data[i * ldc + j] == c0[i * ldc + j]) }
                }
                #expect(worst < 1e-4 * Double(k).squareRoot(), "m\(m) n\(n) k\(k) tA\(transposeA) tB\(transposeB)")
            }
        }
    }

    @Test(arguments: [(1, 1, 1), (7, 13, 5), (2 * 77, 65, 31)])
    func linearWithAndWithoutBias(shape: (Int, Int, Int)) {
        let (rows, inputs, outputs) = shape
        let x = randomTensor([rows, inputs], seed: 4)
        let w = randomTensor([outputs, inputs], seed: 5)
        let bias = randomTensor([outputs], seed: 6)
        for useBias in [false, true] {
            let y = linear(x, weight: .fp32(w), bias: useBias ? bias : nil)
            #expect(y.shape == [rows, outputs])
            var expected = [Float](repeating: 0, count: rows * outputs)
            for r in 0..<rows {
                for o in 0..<outputs {
                    var sum = useBias ? Double(bias.data[o]) : 0
                    for i in 0..<inputs { sum += Double(x.data[r * inputs + i]) * Double(w.data[o * inputs + i]) }
                    expected[r * outputs + o] = Float(sum)
                }
            }
            #expect(maxDifference(y.data, expected) < 1e-4)
        }
    }

    @Test(arguments: [(1, 1), (3, 7), (77, 768), (5, 1025)])
    func layerNormMatchesNaive(shape: (Int, Int)) {
        let (rows, width) = shape
        // An offset far from zero checks the two-pass variance.
        var x = randomTensor([rows, width], seed: 7, scale: 3)
        x.data = x.data.map { $0 + 100 }
        let gamma = randomTensor([width], seed: 8), beta = randomTensor([width], seed: 9)
        let y = layerNorm(x, gamma: gamma, beta: beta, eps: 1e-5)
        var expected = [Float]()
        for r in 0..<rows {
            let row = x.data[r * width ..< (r + 1) * width].map(Double.init)
            let mean = row.reduce(0, +) / Double(width)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(width)
            for c in 0..<width {
                expected.append(Float((row[c] - mean) / (variance + 1e-5).squareRoot()
                                      * Double(gamma.data[c]) + Double(beta.data[c])))
            }
        }
        #expect(maxDifference(y.data, expected) < 2e-4)
    }

    @Test func fastExpIsAccurateAcrossTheRange() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            let relative = abs(Double(fastExp(x)) - Foundation.exp(Double(x))) / Foundation.exp(Double(x))
            worst = max(worst, relative)
            x += 0.0137
        }
        #expect(worst < 3e-7)
        #expect(fastExp(-1000) < 1e-37)
        #expect(fastExp(0) == 1)
    }

    @Test func activationsMatchTheirDefinitions() {
        let x = randomTensor([1031], seed: 10, scale: 8)
        for activation in [Activation.gelu, .quickGELU, .silu] {
            var y = x
            activate(&y, activation)
            let expected = x.data.map { v -> Float in
                let d = Double(v)
                switch activation {
                case .gelu: return Float(0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot())))
                case .quickGELU: return Float(d / (1 + Foundation.exp(-1.702 * d)))
                case .silu: return Float(d / (1 + Foundation.exp(-d)))
                }
            }
            #expect(maxDifference(y.data, expected) < 2e-6, "\(activation)")
        }
    }

    @Test func gegluMultipliesValueByGELUOfGate() {
        let x = randomTensor([3, 5, 2 * 37], seed: 11, scale: 4)
        let y = geglu(x)
        #expect(y.shape == [3, 5, 37])
        var expected = [Float]()
        for r in 0..<15 {
            for c in 0..<37 {
                let value = Double(x.data[r * 74 + c]), gate = Double(x.data[r * 74 + 37 + c])
                expected.append(Float(value * 0.5 * gate * (1 + Foundation.erf(gate / 2.0.squareRoot()))))
            }
        }
        #expect(maxDifference(y.data, expected) < 1e-5)
    }

    @Test(arguments: [(1, 1, 0), (5, 9, 0), (7, 7, 0), (4, 10, 6)])
    func softmaxRowsWithAndWithoutCausalMask(shape: (Int, Int, Int)) {
        let (rows, width, offset) = shape
        for causal in [false, true] {
            var scores = randomTensor([rows * (width + 2)], seed: 12, scale: 20)
            let original = scores.data
            scores.data.withUnsafeMutableBufferPointer {
                softmaxRows($0.baseAddress!, rows: rows, width: width, rowStride: width + 2,
                            scale: 0.3, causal: causal, causalOffset: offset)
            }
            for r in 0..<rows {
                let visible = causal ? min(width, r + offset + 1) : width
                let row = original[r * (width + 2) ..< r * (width + 2) + visible].map { Double($0) * 0.3 }
                let maximum = row.max()!
                let total = row.reduce(0) { $0 + Foundation.exp($1 - maximum) }
                for c in 0..<width {
                    let expected = c < visible ? Foundation.exp(row[c] - maximum) / total : 0
                    #expect(abs(Double(scores.data[r * (width + 2) + c]) - expected) < 1e-6)
                }
                // The stride padding is not part of the row.
                #expect(scores.data[r * (width + 2) + width] == original[r * (width + 2) + width])
            }
        }
    }

    // (77, 77, 4, 16) runs its heads on different threads; (384, 320, 2, 72) one head at a time
    // with each GEMM split across the threads; (1100, 1000, 2, 24) and (1000, 1100, 1, 16) (also
    // causal) in blocks of queries.
    @Test(arguments: [(5, 5, 1, 4), (7, 3, 3, 5), (77, 77, 4, 16), (384, 320, 2, 72), (1100, 1000, 2, 24),
                      (1000, 1100, 1, 16)])
    func multiHeadAttentionMatchesNaive(shape: (Int, Int, Int, Int)) {
        let (queries, keys, heads, headDim) = shape
        let inner = heads * headDim
        for causal in [false, true] where !causal || queries <= keys {
            // Q, K and V interleaved in one [tokens, 3·inner] buffer as the fused projection makes.
            let q = randomTensor([queries * 3 * inner], seed: 13, scale: 2)
            let kv = randomTensor([keys * 3 * inner], seed: 14, scale: 2)
            var out = Tensor(zeros: [queries * inner])
            var scratch = [Float](repeating: 0, count: attentionScratchCount(
                queryCount: queries, keyCount: keys, heads: heads, headDim: headDim))
            q.data.withUnsafeBufferPointer { qp in
                kv.data.withUnsafeBufferPointer { kp in
                    out.data.withUnsafeMutableBufferPointer { op in
                        scratch.withUnsafeMutableBufferPointer { sp in
                            multiHeadAttention(
                                query: qp.baseAddress!, queryStride: 3 * inner,
                                key: kp.baseAddress! + inner, keyStride: 3 * inner,
                                value: kp.baseAddress! + 2 * inner, valueStride: 3 * inner,
                                output: op.baseAddress!, outputStride: inner,
                                queryCount: queries, keyCount: keys, heads: heads, headDim: headDim,
                                causal: causal, scores: sp.baseAddress!)
                        }
                    }
                }
            }
            var expected = [Float](repeating: 0, count: queries * inner)
            let scale = 1 / Double(headDim).squareRoot()
            for h in 0..<heads {
                for i in 0..<queries {
                    let visible = causal ? i + (keys - queries) + 1 : keys
                    var weights = (0..<visible).map { j -> Double in
                        var dot = 0.0
                        for d in 0..<headDim {
                            dot += Double(q.data[i * 3 * inner + h * headDim + d])
                                * Double(kv.data[j * 3 * inner + inner + h * headDim + d])
                        }
                        return dot * scale
                    }
                    let maximum = weights.max()!
                    weights = weights.map { Foundation.exp($0 - maximum) }
                    let total = weights.reduce(0, +)
                    for d in 0..<headDim {
                        var sum = 0.0
                        for j in 0..<visible { sum += weights[j] / total * Double(kv.data[j * 3 * inner + 2 * inner + h * headDim + d]) }
                        expected[i * inner + h * headDim + d] = Float(sum)
                    }
                }
            }
            #expect(maxDifference(out.data, expected) < 1e-5, "causal \(causal)")
        }
    }

    @Test func addInPlaceAddsElementWise() {
        var a = randomTensor([3, 1001], seed: 15)
        let b = randomTensor([3, 1001], seed: 16)
        let expected = zip(a.data, b.data).map { $0 + $1 }
        addInPlace(&a, b)
        #expect(a.data == expected)
    }

    @Test func parallelForCoversEveryIndexOnce() {
        for count in [0, 1, 2, 3, 1000, 1001] {
            let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(count, 1))
            hits.initialize(repeating: 0)
            defer { hits.deallocate() }
            parallelFor(count) { range in for i in range { hits[i] += 1 } }
            #expect(hits.prefix(count).allSatisfy { $0 == 1 }, "count \(count)")
        }
    }
}
