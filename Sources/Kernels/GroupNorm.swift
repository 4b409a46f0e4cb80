/// `torch.nn.GroupNorm`, optionally followed by an activation in the same pass (the U-Net and VAE
/// always apply SiLU right after their GroupNorms: one pass over memory instead of two).
///
///   x [batch, channels, spatial...] with `groups` dividing `channels`; gamma, beta [channels]
public func groupNorm(_ x: Tensor, groups: Int, gamma: Tensor, beta: Tensor, eps: Float,
                      activation: Activation? = nil) -> Tensor {
    let batch = x.shape[0], channels = x.shape[1]
    precondition(channels % groups == 0, "groupNorm: \(channels) channels do not split into \(groups) groups")
    precondition(gamma.count == channels && beta.count == channels,
                 "groupNorm: gamma \(gamma.count) / beta \(beta.count) for \(channels) channels")
    let spatial = x.count / (batch * channels)
    let perGroup = channels / groups
    var y = Tensor(uninitialized: x.shape)
    x.data.withUnsafeBufferPointer { xp in
        y.data.withUnsafeMutableBufferPointer { yp in
            let xs = xp.baseAddress!, ys = yp.baseAddress!
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
                        let shift = beta.data[channel] - mean * scale
                        let source = xs + base + c * spatial, target = ys + base + c * spatial
                        switch activation {
                        case nil: for i in 0..<spatial { target[i] = source[i] * scale + shift }
                        case .silu?: for i in 0..<spatial { target[i] = Activation.silu(source[i] * scale + shift) }
                        case let other?: for i in 0..<spatial { target[i] = other(source[i] * scale + shift) }
                        }
                    }
                }
            }
        }
    }
    return y
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
