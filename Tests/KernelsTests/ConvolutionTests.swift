import Foundation
import Kernels
import Testing

/// Image kernels (the U-Net's and VAE's) against naive loops in Double on odd shapes.
@Suite struct ConvolutionTests {
    static func naiveConv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ g: ConvolutionGeometry) -> [Float] {
        let (n, ci, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let co = w.shape[0], k = g.kernel
        let (oh, ow) = g.outputSize(height: h, width: wd)
        var out = [Float]()
        for b0 in 0..<n {
            for o in 0..<co {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var sum = b.map { Double($0.data[o]) } ?? 0
                        for c in 0..<ci {
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let y = oy * g.stride + ky - g.padTop, xx = ox * g.stride + kx - g.padLeft
                                    guard y >= 0, y < h, xx >= 0, xx < wd else { continue }
                                    sum += Double(x.data[((b0 * ci + c) * h + y) * wd + xx])
                                        * Double(w.data[((o * ci + c) * k + ky) * k + kx])
                                }
                            }
                        }
                        out.append(Float(sum))
                    }
                }
            }
        }
        return out
    }

    @Test(arguments: [
        ConvolutionGeometry(kernel: 3, padding: 1),
        ConvolutionGeometry(kernel: 1, padding: 0),
        ConvolutionGeometry(kernel: 3, stride: 2, padding: 1),
        ConvolutionGeometry(kernel: 3, stride: 2, padTop: 0, padLeft: 0, padBottom: 1, padRight: 1),
        ConvolutionGeometry(kernel: 5, stride: 1, padding: 2),
        ConvolutionGeometry(kernel: 3, stride: 1, padding: 0),
    ])
    func conv2dMatchesNaiveLoop(geometry: ConvolutionGeometry) {
        for (height, width) in [(7, 9), (1, 1), (8, 5)] {
            guard geometry.outputSize(height: height, width: width).height > 0,
                  geometry.outputSize(height: height, width: width).width > 0 else { continue }
            let x = randomTensor([2, 5, height, width], seed: 21)
            let w = randomTensor([6, 5, geometry.kernel, geometry.kernel], seed: 22)
            let b = randomTensor([6], seed: 23)
            for bias in [nil, b] {
                let y = conv2d(x, weight: .fp32(w), bias: bias, geometry: geometry)
                let (oh, ow) = geometry.outputSize(height: height, width: width)
                #expect(y.shape == [2, 6, oh, ow])
                #expect(maxDifference(y.data, Self.naiveConv(x, w, bias, geometry)) < 1e-4,
                        "\(geometry) \(height)×\(width)")
            }
        }
    }

    @Test func conv2dInBandsMatchesOneBand() {
        // 640 input channels × 9 taps × 64 columns = 368,640 floats per output row: with a 32 MB
        // scratch a 64×64 output needs several bands; compare against the naive loop.
        let x = randomTensor([1, 640, 64, 64], seed: 24, scale: 0.1)
        let w = randomTensor([3, 640, 3, 3], seed: 25, scale: 0.1)
        let g = ConvolutionGeometry(kernel: 3, padding: 1)
        #expect(640 * 9 * 64 * 64 > im2colScratchLimit)
        let y = conv2d(x, weight: .fp32(w), bias: nil, geometry: g)
        #expect(maxDifference(y.data, Self.naiveConv(x, w, nil, g)) < 1e-4)
    }

    /// Largest |Δ| relative to the reference's largest magnitude, as the models' parity tests measure.
    static func relativeError(_ y: [Float], _ reference: [Float]) -> Float {
        maxDifference(y, reference) / reference.reduce(0) { max($0, abs($1)) }
    }

    @Test(arguments: [
        ConvolutionGeometry(kernel: 3, padding: 1),
        ConvolutionGeometry(kernel: 3, padding: 0),
        ConvolutionGeometry(kernel: 3, stride: 1, padTop: 0, padLeft: 2, padBottom: 1, padRight: 0),
    ])
    func winogradMatchesNaiveLoop(geometry: ConvolutionGeometry) {
        // Sides that are not multiples of 4 leave partial tiles at the bottom and right edges.
        for (height, width) in [(19, 23), (16, 16), (13, 30)] {
            let (oh, ow) = geometry.outputSize(height: height, width: width)
            #expect(winogradPays(geometry: geometry, inChannels: 5, outHeight: oh, outWidth: ow))
            let x = randomTensor([2, 5, height, width], seed: 40)
            let w = randomTensor([7, 5, 3, 3], seed: 41)
            let b = randomTensor([7], seed: 42)
            for bias in [nil, b] {
                let y = conv2d(x, weight: .fp32(w), bias: bias, geometry: geometry)
                #expect(y.shape == [2, 7, oh, ow])
                let error = Self.relativeError(y.data, Self.naiveConv(x, w, bias, geometry))
                #expect(error < 1e-5, "\(geometry) \(height)×\(width): relative error \(error)")
            }
        }
    }

    @Test func winogradInBandsAndWithManyChannels() {
        // 16 + 16 channels × 75×73 tiles × 36 positions × 4 bytes = 25 MB of V and M: three bands,
        // the last one short. Then 256 input channels, where rounding errors add up most.
        let g = ConvolutionGeometry(kernel: 3, padding: 1)
        for (channels, height, width) in [(16, 300, 290), (256, 28, 24)] {
            #expect(winogradPays(geometry: g, inChannels: channels, outHeight: height, outWidth: width))
            let x = randomTensor([1, channels, height, width], seed: 43)
            let w = randomTensor([16, channels, 3, 3], seed: 44, scale: 0.1)
            let b = randomTensor([16], seed: 45)
            let error = Self.relativeError(conv2d(x, weight: .fp32(w), bias: b, geometry: g).data,
                                           Self.naiveConv(x, w, b, g))
            #expect(error < 1e-5, "\(channels) channels \(height)×\(width): relative error \(error)")
        }
    }

    @Test(arguments: [(1, 6, 3), (2, 32, 8), (2, 12, 4)])
    func groupNormMatchesNaiveWithAndWithoutSiLU(shape: (Int, Int, Int)) {
        let (batch, channels, groups) = shape
        var x = randomTensor([batch, channels, 5, 7], seed: 26, scale: 2)
        x.data = x.data.map { $0 + 3 }
        let gamma = randomTensor([channels], seed: 27), beta = randomTensor([channels], seed: 28)
        for activation in [nil, Activation.silu] {
            let y = groupNorm(x, groups: groups, gamma: gamma, beta: beta, eps: 1e-6, activation: activation)
            var expected = [Float](repeating: 0, count: x.count)
            let perGroup = channels / groups, spatial = 35
            for n in 0..<batch {
                for g in 0..<groups {
                    let start = (n * channels + g * perGroup) * spatial, count = perGroup * spatial
                    let values = x.data[start ..< start + count].map(Double.init)
                    let mean = values.reduce(0, +) / Double(count)
                    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(count)
                    for i in 0..<count {
                        let c = g * perGroup + i / spatial
                        var v = (values[i] - mean) / (variance + 1e-6).squareRoot() * Double(gamma.data[c]) + Double(beta.data[c])
                        if activation != nil { v = v / (1 + Foundation.exp(-v)) }
                        expected[start + i] = Float(v)
                    }
                }
            }
            #expect(maxDifference(y.data, expected) < 2e-5)
        }
    }

    /// A GroupNorm + SiLU fused into the convolution's input (Winograd: per row as it reads;
    /// other paths: a transformed copy) equals normalising first; padding stays zero, not SiLU(shift).
    @Test func convolutionWithAnInputTransformEqualsNormalisingFirst() {
        let x = randomTensor([2, 8, 21, 19], seed: 32, scale: 3)
        let gamma = randomTensor([8], seed: 33), beta = randomTensor([8], seed: 34)
        let transform = groupNormTransform(x, groups: 4, gamma: gamma, beta: beta, eps: 1e-6, activation: .silu)
        let normalized = groupNorm(x, groups: 4, gamma: gamma, beta: beta, eps: 1e-6, activation: .silu)
        for (kernel, stride) in [(3, 1), (3, 2), (1, 1)] {  // Winograd, im2col, direct
            let geometry = ConvolutionGeometry(kernel: kernel, stride: stride, padding: kernel / 2)
            let weight = WeightMatrix.fp32(randomTensor([5, 8, kernel, kernel], seed: 35))
            let bias = randomTensor([5], seed: 36)
            let fused = conv2d(x, weight: weight, bias: bias, geometry: geometry, inputTransform: transform)
            let reference = conv2d(normalized, weight: weight, bias: bias, geometry: geometry)
            #expect(maxDifference(fused.data, reference.data) < 1e-5 * max(1, reference.maxAbs),
                    "kernel \(kernel) stride \(stride)")
        }
        #expect(winogradPays(geometry: ConvolutionGeometry(kernel: 3, stride: 1, padding: 1), inChannels: 8,
                             outHeight: 21, outWidth: 19))
    }

    /// A 16×16 output is 16 tiles: Winograd for fp32 weights, im2col and bf16 products for bf16
    /// ones; a larger output takes Winograd for both.
    @Test func bf16WeightsNeedMoreTilesForWinograd() {
        let g = ConvolutionGeometry(kernel: 3, padding: 1)
        #expect(winogradPays(geometry: g, inChannels: 64, outHeight: 16, outWidth: 16))
        #expect(!winogradPays(geometry: g, inChannels: 64, outHeight: 16, outWidth: 16, bf16Weights: true))
        #expect(winogradPays(geometry: g, inChannels: 64, outHeight: 20, outWidth: 20, bf16Weights: true))
    }

    @Test func upsampleRepeatsEachPixelTwiceEachWay() {
        let x = randomTensor([2, 3, 3, 5], seed: 29)
        let y = upsampleNearest2x(x)
        #expect(y.shape == [2, 3, 6, 10])
        for p in 0..<6 {
            for row in 0..<6 {
                for col in 0..<10 {
                    #expect(y.data[(p * 6 + row) * 10 + col] == x.data[(p * 3 + row / 2) * 5 + col / 2])
                }
            }
        }
    }

    @Test func concatenateChannelsInterleavesPerBatchItem() {
        let a = randomTensor([2, 3, 2, 2], seed: 30), b = randomTensor([2, 1, 2, 2], seed: 31)
        let c = concatenateChannels(a, b)
        #expect(c.shape == [2, 4, 2, 2])
        #expect(Array(c.data[0..<12]) == Array(a.data[0..<12]))
        #expect(Array(c.data[12..<16]) == Array(b.data[0..<4]))
        #expect(Array(c.data[16..<28]) == Array(a.data[12..<24]))
    }
}
