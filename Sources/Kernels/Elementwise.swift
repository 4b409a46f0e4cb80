/// Element-by-element arithmetic on whole tensors: residual sums, ReLU, scalings, and the small
/// per-element formulas of samplers and latent rescalings.
///
/// The `elementwise` forms take the formula as a closure and run on one thread: they serve
/// latent-sized tensors (a few thousand to a few hundred thousand values), where writing the
/// formula in its reference implementation's order matters more than speed (a sampler step
/// cancels large terms, so matching diffusers' rounding keeps results within 1e-6 of its).

/// f(a) per element.
@inlinable
public func elementwise(_ a: Tensor, _ f: (Float) -> Float) -> Tensor {
    Tensor(shape: a.shape, data: a.data.map(f))
}

/// f(a, b) per element; the shapes must agree.
@inlinable
public func elementwise(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    precondition(a.shape == b.shape, "elementwise: shapes \(a.shape) and \(b.shape) differ")
    return Tensor(shape: a.shape, data: zip(a.data, b.data).map(f))
}

/// f(a, b, c) per element; the shapes must agree.
@inlinable
public func elementwise(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ f: (Float, Float, Float) -> Float) -> Tensor {
    precondition(a.shape == b.shape && a.shape == c.shape,
                 "elementwise: shapes \(a.shape), \(b.shape) and \(c.shape) differ")
    return Tensor(shape: a.shape, data: a.data.indices.map { f(a.data[$0], b.data[$0], c.data[$0]) })
}

/// Values clamped to ±`limit` (diffusers' `clip_sample`).
public func clamped(_ tensor: Tensor, to limit: Float) -> Tensor {
    elementwise(tensor) { min(max($0, -limit), limit) }
}

/// x ·= factor, in place (the sampler's initial noise sigma); nothing to do for 1.
public func scale(_ x: inout Tensor, by factor: Float) {
    if factor == 1 { return }
    for i in x.data.indices { x.data[i] *= factor }
}

/// a += b, element-wise (residual connections).
public func addInPlace(_ a: inout Tensor, _ b: Tensor) {
    precondition(a.shape == b.shape, "add: shapes \(a.shape) and \(b.shape) differ")
    a.data.withUnsafeMutableBufferPointer { ap in
        b.data.withUnsafeBufferPointer { bp in
            let x = ap.baseAddress!, y = bp.baseAddress!
            parallelFor(ap.count, minimumPerThread: 65_536) { range in
                for i in range { x[i] += y[i] }
            }
        }
    }
}

/// ReLU in place, TAESD's only activation (`Activation` has no ReLU because nothing fuses one
/// into a kernel).
public func clampNegatives(_ x: inout Tensor) {
    x.data.withUnsafeMutableBufferPointer { p in
        let base = p.baseAddress!
        parallelFor(p.count, minimumPerThread: 65_536) { range in
            for i in range { base[i] = max(base[i], 0) }
        }
    }
}
