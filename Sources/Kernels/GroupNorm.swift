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
    var y = Tensor(zeros: x.shape)
    x.data.withUnsafeBufferPointer { xp in
        y.data.withUnsafeMutableBufferPointer { yp in
            let xs = xp.baseAddress!, ys = yp.baseAddress!
            parallelFor(batch * groups) { range in
                for item in range {
                    let n = item / groups, group = item % groups
                    let firstChannel = group * perGroup
                    let base = (n * channels + firstChannel) * spatial
                    let count = perGroup * spatial
                    // Two passes in Double across channels: a 512² VAE group has millions of values.
                    var sum = 0.0
                    for c in 0..<perGroup {
                        var partial: Float = 0
                        let plane = xs + base + c * spatial
                        for i in 0..<spatial { partial += plane[i] }
                        sum += Double(partial)
                    }
                    let mean = Float(sum / Double(count))
                    var squares = 0.0
                    for c in 0..<perGroup {
                        var partial: Float = 0
                        let plane = xs + base + c * spatial
                        for i in 0..<spatial {
                            let d = plane[i] - mean
                            partial += d * d
                        }
                        squares += Double(partial)
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
