/// How a 2-D convolution walks its input. Padding is per side because diffusers' VAE encoder pads
/// (right, bottom) only before its stride-2 convolutions.
public struct ConvolutionGeometry: Sendable, Equatable {
    public var kernel: Int
    public var stride: Int
    public var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int

    public init(kernel: Int, stride: Int = 1, padding: Int) {
        self.init(kernel: kernel, stride: stride, padTop: padding, padLeft: padding,
                  padBottom: padding, padRight: padding)
    }

    public init(kernel: Int, stride: Int, padTop: Int, padLeft: Int, padBottom: Int, padRight: Int) {
        self.kernel = kernel
        self.stride = stride
        self.padTop = padTop
        self.padLeft = padLeft
        self.padBottom = padBottom
        self.padRight = padRight
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + padTop + padBottom - kernel) / stride + 1,
         (width + padLeft + padRight - kernel) / stride + 1)
    }
}

/// Upper bound on the im2col scratch per call (floats): large images are convolved in bands of
/// output rows so memory stays bounded whatever the resolution.
public let im2colScratchLimit = 8 << 20  // 32 MB

/// 2-D convolution: Winograd F(4×4, 3×3) for 3×3 stride-1 convolutions with enough output
/// (`winogradPays`), else im2col + GEMM.
///
///   input  [batch, inChannels, height, width]
///   weight [outChannels, inChannels, kernel, kernel]
///   bias   [outChannels]
///   → [batch, outChannels, outHeight, outWidth]
///
/// 1×1 stride-1 convolutions skip im2col: the input already is the [inChannels, pixels] matrix.
///
/// `inputTransform` (a GroupNorm and its activation) is applied to the input first: by the
/// Winograd input transform as it reads each row, otherwise to a copy.
public func conv2d(_ input: Tensor, weight: WeightMatrix, bias: Tensor?, geometry g: ConvolutionGeometry,
                   inputTransform: ChannelTransform? = nil) -> Tensor {
    let batch = input.shape[0], inChannels = input.shape[1], height = input.shape[2], width = input.shape[3]
    let outChannels = weight.shape[0]
    precondition(weight.shape == [outChannels, inChannels, g.kernel, g.kernel],
                 "conv2d: weight \(weight.shape) does not fit \(inChannels) input channels and kernel \(g.kernel)")
    let (outHeight, outWidth) = g.outputSize(height: height, width: width)
    precondition(outHeight > 0 && outWidth > 0, "conv2d: input \(height)×\(width) too small for the kernel")
    let outPixels = outHeight * outWidth, inPixels = height * width
    let patch = inChannels * g.kernel * g.kernel  // rows of the im2col matrix
    var output = Tensor(uninitialized: [batch, outChannels, outHeight, outWidth])

    let bf16Weights: Bool
    if case .bf16 = weight { bf16Weights = true } else { bf16Weights = false }
    if winogradPays(geometry: g, inChannels: inChannels, outHeight: outHeight, outWidth: outWidth,
                    bf16Weights: bf16Weights) {
        // Winograd runs in fp32 also for bf16 weights (widened per call, one layer's worth): in
        // bf16 its transforms, which multiply by up to 8 and then cancel, turned bf16's 0.4 %
        // rounding of U and V into ~7 % of a layer's largest output, while fp32 Winograd from
        // bf16 weights is as fast as ever and only as inexact as the weights.
        let weightValues = weight.floats
        input.data.withUnsafeBufferPointer { ip in
            weightValues.withUnsafeBufferPointer { wp in
                output.data.withUnsafeMutableBufferPointer { op in
                    withOptionalPointer(bias?.data) { bp in
                        winogradConvolution3x3(
                            images: ip.baseAddress!, batch: batch, inChannels: inChannels, height: height, width: width,
                            weight: wp.baseAddress!, bias: bp, outChannels: outChannels, geometry: g,
                            output: op.baseAddress!, outHeight: outHeight, outWidth: outWidth,
                            inputTransform: inputTransform)
                    }
                }
            }
        }
        return output
    }
    if let inputTransform {
        return conv2d(inputTransform.applied(to: input), weight: weight, bias: bias, geometry: g)
    }

    let direct = g.kernel == 1 && g.stride == 1 && g.padTop == 0 && g.padLeft == 0
        && g.padBottom == 0 && g.padRight == 0
    // Output rows per band so that the band's columns fit the scratch limit.
    let bandRows = direct ? outHeight : max(1, min(outHeight, im2colScratchLimit / max(1, patch * outWidth)))
    // im2col writes every element of the columns it uses, so they need no zero-filling.
    let columnCount = direct ? 0 : patch * bandRows * outWidth
    var columns = [Float](unsafeUninitializedCapacity: columnCount) { $1 = columnCount }

    input.data.withUnsafeBufferPointer { ip in
        weight.withOperand(for: .convolution, transposed: false, leadingDimension: patch) { w in
            output.data.withUnsafeMutableBufferPointer { op in
                columns.withUnsafeMutableBufferPointer { cp in
                    for n in 0..<batch {
                        let image = ip.baseAddress! + n * inChannels * inPixels
                        let out = op.baseAddress! + n * outChannels * outPixels
                        if let bias {
                            for o in 0..<outChannels {
                                (out + o * outPixels).update(repeating: bias.data[o], count: outPixels)
                            }
                        }
                        if direct {
                            gemm(m: outChannels, n: inPixels, k: inChannels,
                                 a: w, b: MatrixOperand(fp32: image, leadingDimension: inPixels),
                                 beta: bias == nil ? 0 : 1, c: out, ldc: outPixels)
                            continue
                        }
                        var firstRow = 0
                        while firstRow < outHeight {
                            let rows = min(bandRows, outHeight - firstRow)
                            let bandPixels = rows * outWidth
                            im2col(image, channels: inChannels, height: height, width: width, geometry: g,
                                   firstOutputRow: firstRow, outputRows: rows, outputWidth: outWidth,
                                   columns: cp.baseAddress!)
                            gemm(m: outChannels, n: bandPixels, k: patch,
                                 a: w, b: MatrixOperand(fp32: cp.baseAddress!, leadingDimension: bandPixels),
                                 beta: bias == nil ? 0 : 1, c: out + firstRow * outWidth, ldc: outPixels)
                            firstRow += rows
                        }
                    }
                }
            }
        }
    }
    return output
}

/// Unfolds the receptive fields of output rows firstOutputRow ..< firstOutputRow + outputRows into
/// columns [channels·kernel·kernel, outputRows·outputWidth]; padding reads as zero.
@usableFromInline
func im2col(_ image: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
            geometry g: ConvolutionGeometry, firstOutputRow: Int, outputRows: Int, outputWidth: Int,
            columns: UnsafeMutablePointer<Float>) {
    let k = g.kernel
    let bandPixels = outputRows * outputWidth
    parallelFor(channels * k * k, minimumPerThread: 4) { range in
        for row in range {
            let c = row / (k * k), ky = (row / k) % k, kx = row % k
            let plane = image + c * height * width
            let dst = columns + row * bandPixels
            for oy in 0..<outputRows {
                let y = (firstOutputRow + oy) * g.stride + ky - g.padTop
                let line = dst + oy * outputWidth
                guard y >= 0 && y < height else {
                    line.update(repeating: 0, count: outputWidth)
                    continue
                }
                let source = plane + y * width
                if g.stride == 1 {
                    // x = ox + kx − padLeft: a shifted copy with zeros where it leaves the image.
                    let shift = kx - g.padLeft
                    let start = max(0, -shift), end = min(outputWidth, width - shift)
                    if start > 0 { line.update(repeating: 0, count: min(start, outputWidth)) }
                    if end > start { (line + start).update(from: source + start + shift, count: end - start) }
                    if end < outputWidth {
                        let from = max(end, start)
                        (line + from).update(repeating: 0, count: outputWidth - from)
                    }
                } else {
                    for ox in 0..<outputWidth {
                        let x = ox * g.stride + kx - g.padLeft
                        line[ox] = x >= 0 && x < width ? source[x] : 0
                    }
                }
            }
        }
    }
}

/// `body` with a pointer to `values`' storage, or nil when there are none.
private func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}
