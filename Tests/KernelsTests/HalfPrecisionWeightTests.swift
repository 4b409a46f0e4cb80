import Foundation
import Testing
import Kernels

/// fp16-stored weights at precision fp32: every product must equal, bit for bit, the product
/// with the same values kept as fp32, since fp16 widens to fp32 exactly.
@Suite struct HalfPrecisionWeightTests {
    /// A random tensor of `shape` rounded to fp16, both ways it can be kept.
    static func pair(_ shape: [Int], seed: UInt64) -> (fp16: WeightMatrix, fp32: WeightMatrix) {
        let halves = randomTensor(shape, seed: seed).data.map { Float16($0) }
        return (.fp16(shape: shape, values: halves), .fp32(Tensor(shape: shape, data: halves.map(Float.init))))
    }

    @Test func linearLayersGiveTheFP32ResultBitForBit() {
        let (half, full) = Self.pair([96, 80], seed: 1)
        let x = randomTensor([70, 80], seed: 2), bias = randomTensor([96], seed: 3)
        #expect(linear(x, weight: half, bias: bias) == linear(x, weight: full, bias: bias))
        #expect(half.precision == .fp32 && half.floats == full.floats)
    }

    @Test(arguments: [(1, 1), (3, 1), (3, 2)])
    func convolutionsGiveTheFP32ResultBitForBit(kernel: Int, stride: Int) {
        // 40×40 output pixels and 16 input channels: the 3×3 stride-1 case goes by Winograd.
        let (half, full) = Self.pair([24, 16, kernel, kernel], seed: 4)
        let x = randomTensor([2, 16, 40, 40], seed: 5), bias = randomTensor([24], seed: 6)
        let geometry = ConvolutionGeometry(kernel: kernel, stride: stride, padding: kernel / 2)
        #expect(conv2d(x, weight: half, bias: bias, geometry: geometry)
                == conv2d(x, weight: full, bias: bias, geometry: geometry))
    }

    @Test func embeddingRowsReshapingAndStackingKeepTheValues() {
        let (a, aFull) = Self.pair([5, 8], seed: 7), (b, _) = Self.pair([3, 8], seed: 8)
        var row = [Float](repeating: 1, count: 8), rowFull = row
        a.addRow(2, to: &row)
        aFull.addRow(2, to: &rowFull)
        #expect(row == rowFull)
        #expect(a.reshaped([5, 2, 2, 2]).shape == [5, 2, 2, 2] && a.reshaped([5, 2, 2, 2]).floats == a.floats)
        let stacked = WeightMatrix.stackingRows([a, b])
        // Stacked fp16 stays fp16 (attention's q, k, v projections would otherwise double).
        guard case .fp16(let shape, _) = stacked else { Issue.record("stacking fp16 gave \(stacked)"); return }
        #expect(shape == [8, 8] && stacked.floats == a.floats + b.floats)
    }
}
