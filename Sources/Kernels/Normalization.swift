/// LayerNorm over the last dimension: x [rows, width], gamma/beta [width].
///
/// Biased variance and eps inside the square root, as `torch.nn.LayerNorm`. Two passes (mean,
/// then squared deviations) to avoid the cancellation of E[x²] − E[x]².
public func layerNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, eps: Float) -> Tensor {
    let width = gamma.count
    precondition(x.shape.last == width && beta.count == width,
                 "layerNorm: input width \(x.shape.last ?? 0), gamma \(width), beta \(beta.count)")
    let rows = x.count / width
    var y = Tensor(uninitialized: x.shape)
    x.data.withUnsafeBufferPointer { xp in
        y.data.withUnsafeMutableBufferPointer { yp in
            gamma.data.withUnsafeBufferPointer { gp in
                beta.data.withUnsafeBufferPointer { bp in
                    let xs = xp.baseAddress!, ys = yp.baseAddress!, g = gp.baseAddress!, b = bp.baseAddress!
                    parallelFor(rows, minimumPerThread: max(1, 8_192 / width)) { range in
                        for r in range {
                            let row = xs + r * width, out = ys + r * width
                            var sum: Float = 0
                            for c in 0..<width { sum += row[c] }
                            let mean = sum / Float(width)
                            var squares: Float = 0
                            for c in 0..<width {
                                let d = row[c] - mean
                                squares += d * d
                            }
                            let inverseStd = 1 / (squares / Float(width) + eps).squareRoot()
                            for c in 0..<width { out[c] = (row[c] - mean) * inverseStd * g[c] + b[c] }
                        }
                    }
                }
            }
        }
    }
    return y
}

/// A per-channel map y = activation(x · scale + shift), one (scale, shift) per image and
/// channel: what a GroupNorm (and the SiLU after it) does to its input once the statistics are
/// known. A convolution can apply it as it reads its input (`conv2d(_:…inputTransform:)`), so the
/// normalised tensor is never stored: at 512² the VAE's are 134–268 MB each.
public struct ChannelTransform: Sendable {
    /// [batch · channels]
    public var scale: [Float]
    public var shift: [Float]
    public var activation: Activation?

    /// The transform applied to a plane of `count` values (the vectorised loop every path shares).
    @inline(__always)
    func apply(_ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, count: Int, plane: Int) {
        let scale = self.scale[plane], shift = self.shift[plane]
        switch activation {
        case nil: for i in 0..<count { target[i] = source[i] * scale + shift }
        case .silu?: for i in 0..<count { target[i] = Activation.silu(source[i] * scale + shift) }
        case let other?: for i in 0..<count { target[i] = other(source[i] * scale + shift) }
        }
    }

    /// The transformed tensor, materialised (for convolutions that cannot fuse it).
    public func applied(to x: Tensor) -> Tensor {
        let planes = x.shape[0] * x.shape[1], spatial = x.count / max(1, planes)
        precondition(scale.count == planes, "channel transform for \(scale.count) planes, tensor has \(planes)")
        var y = Tensor(uninitialized: x.shape)
        x.data.withUnsafeBufferPointer { xp in
            y.data.withUnsafeMutableBufferPointer { yp in
                parallelFor(planes) { range in
                    for p in range {
                        apply(xp.baseAddress! + p * spatial, yp.baseAddress! + p * spatial, count: spatial, plane: p)
                    }
                }
            }
        }
        return y
    }
}

/// `torch.nn.GroupNorm`, optionally followed by an activation in the same pass (the U-Net and VAE
/// always apply SiLU right after their GroupNorms: one pass over memory instead of two).
///
///   x [batch, channels, spatial...] with `groups` dividing `channels`; gamma, beta [channels]
public func groupNorm(_ x: Tensor, groups: Int, gamma: Tensor, beta: Tensor, eps: Float,
                      activation: Activation? = nil) -> Tensor {
    groupNormTransform(x, groups: groups, gamma: gamma, beta: beta, eps: eps, activation: activation).applied(to: x)
}

/// The statistics half of `groupNorm`: the per-channel transform that normalises `x`.
public func groupNormTransform(_ x: Tensor, groups: Int, gamma: Tensor, beta: Tensor, eps: Float,
                               activation: Activation? = nil) -> ChannelTransform {
    let batch = x.shape[0], channels = x.shape[1]
    precondition(channels % groups == 0, "groupNorm: \(channels) channels do not split into \(groups) groups")
    precondition(gamma.count == channels && beta.count == channels,
                 "groupNorm: gamma \(gamma.count) / beta \(beta.count) for \(channels) channels")
    let spatial = x.count / (batch * channels)
    let perGroup = channels / groups
    var scales = [Float](repeating: 0, count: batch * channels), shifts = scales
    x.data.withUnsafeBufferPointer { xp in
        scales.withUnsafeMutableBufferPointer { sp in
            shifts.withUnsafeMutableBufferPointer { bp in
                let xs = xp.baseAddress!
                parallelFor(batch * groups) { range in
                    for item in range {
                        let n = item / groups, group = item % groups
                        let firstChannel = group * perGroup
                        let base = (n * channels + firstChannel) * spatial
                        let count = perGroup * spatial
                        // Two passes (mean, then squared deviations) to avoid the cancellation of
                        // E[x²] − E[x]²; each plane summed in 16 float lanes, planes added in Double
                        // (a 512² VAE group has millions of values).
                        var sum = 0.0
                        for c in 0..<perGroup {
                            sum += Double(planeSum(xs + base + c * spatial, count: spatial) { $0 })
                        }
                        let mean = Float(sum / Double(count))
                        var squares = 0.0
                        for c in 0..<perGroup {
                            squares += Double(planeSum(xs + base + c * spatial, count: spatial) { ($0 - mean) * ($0 - mean) })
                        }
                        let inverseStd = Float(1 / (squares / Double(count) + Double(eps)).squareRoot())
                        for c in 0..<perGroup {
                            let channel = firstChannel + c
                            let scale = inverseStd * gamma.data[channel]
                            sp[n * channels + channel] = scale
                            bp[n * channels + channel] = beta.data[channel] - mean * scale
                        }
                    }
                }
            }
        }
    }
    return ChannelTransform(scale: scales, shift: shifts, activation: activation)
}

/// Σ f(x[i]) over i < count, accumulated in 16 lanes: a scalar float sum is added strictly in
/// order, one element per FP-add latency, and the compiler may not reorder it.
@inline(__always)
private func planeSum(_ x: UnsafePointer<Float>, count: Int, _ f: (SIMD16<Float>) -> SIMD16<Float>) -> Float {
    var lanes = SIMD16<Float>(repeating: 0)
    let vectors = count / 16
    let raw = UnsafeRawPointer(x)
    for v in 0..<vectors { lanes += f(raw.loadUnaligned(fromByteOffset: 64 * v, as: SIMD16<Float>.self)) }
    var tail = SIMD16<Float>(repeating: 0)
    let rest = count - 16 * vectors
    if rest > 0 {
        var values = SIMD16<Float>(repeating: 0)
        for i in 0..<rest { values[i] = x[16 * vectors + i] }
        tail = f(values)
        for i in rest..<16 { tail[i] = 0 }  // f(0) need not be 0
    }
    return (lanes + tail).sum()
}
