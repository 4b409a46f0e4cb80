// Element-wise activations. Each is a scalar loop without libm calls so the compiler vectorizes
// it (measured: an `expf`/`erff` call per element costs ~5 ns; these loops run at well under 1 ns).

/// e^x to ~2 ulp for x in [-87, 88] (clamped outside: exp(-87) ≈ 1e-38, effectively 0 for us).
///
/// Cody–Waite range reduction x = n·ln2 + r, |r| ≤ ln2/2, then a degree-7 Taylor polynomial
/// (truncation error r⁸/8! < 5e-9) and 2ⁿ assembled in the exponent bits. n is found without a
/// float→int conversion (Swift's checks its range and so keeps loops from vectorizing): adding
/// 1.5·2²³ rounds x·log₂e to an integer held in the low mantissa bits.
@inlinable @inline(__always)
public func fastExp(_ x: Float) -> Float {
    let x = min(max(x, -87.0), 88.0)
    let shifted = x * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    // ln2 split in a part exact in float and a correction, so n·ln2 loses no bits.
    let r = (x - n * 0.693_359_375) + n * 2.121_944_4e-4
    // Horner form of p = Σ rⁱ/i!, i = 0…7.
    var p: Float = 1.0 / 5040
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    // The low bits of `shifted` hold n + 0x40_0000 (its exponent field is that of 2²³).
    let scale = Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
    return p * scale
}

/// erf(x) with absolute error ≤ 1.5e-7 (Abramowitz & Stegun 7.1.26), vectorizable.
@inlinable @inline(__always)
public func fastErf(_ x: Float) -> Float {
    let a = abs(x)
    let t = 1 / (1 + 0.327_591_1 * a)
    var p: Float = 1.061_405_429
    p = p * t - 1.453_152_027
    p = p * t + 1.421_413_741
    p = p * t - 0.284_496_736
    p = p * t + 0.254_829_592
    let y = 1 - p * t * fastExp(-a * a)
    return x < 0 ? -y : y
}

/// The activations the models use, named as in transformers/diffusers configs.
public enum Activation: String, Sendable {
    /// x · Φ(x) with the exact erf (PyTorch's default `gelu`).
    case gelu
    /// x · σ(1.702 x) (OpenAI CLIP's `quick_gelu`).
    case quickGELU = "quick_gelu"
    /// x · σ(x).
    case silu

    @inlinable @inline(__always)
    public func callAsFunction(_ x: Float) -> Float {
        switch self {
        case .gelu: return 0.5 * x * (1 + fastErf(x * 0.707_106_781_186_547_5))
        case .quickGELU: return x / (1 + fastExp(-1.702 * x))
        case .silu: return x / (1 + fastExp(-x))
        }
    }
}

/// Applies `activation` in place to `values` [count].
public func activate(_ values: UnsafeMutableBufferPointer<Float>, _ activation: Activation) {
    let base = values.baseAddress!
    // The switch sits outside the loop so each loop body is branch-free and vectorizes.
    parallelFor(values.count, minimumPerThread: 16_384) { range in
        switch activation {
        case .gelu: for i in range { base[i] = Activation.gelu(base[i]) }
        case .quickGELU: for i in range { base[i] = Activation.quickGELU(base[i]) }
        case .silu: for i in range { base[i] = Activation.silu(base[i]) }
        }
    }
}

public func activate(_ tensor: inout Tensor, _ activation: Activation) {
    tensor.data.withUnsafeMutableBufferPointer { activate($0, activation) }
}

/// GEGLU: x [rows, 2·width] → [rows, width] = x[:, :width] · GELU(x[:, width:]) (diffusers' order:
/// the first half is the value, the second the gate).
public func geglu(_ x: Tensor) -> Tensor {
    let width = x.shape.last! / 2
    let rows = x.count / (2 * width)
    var outShape = x.shape
    outShape[outShape.count - 1] = width
    var y = Tensor(uninitialized: outShape)
    x.data.withUnsafeBufferPointer { xp in
        y.data.withUnsafeMutableBufferPointer { yp in
            let xs = xp.baseAddress!, ys = yp.baseAddress!
            parallelFor(rows, minimumPerThread: max(1, 16_384 / max(1, width))) { range in
                // Three passes over a row instead of one: LLVM left the fused loop, which reads two
                // streams and writes a third, scalar (8.6 % of imagine-mini's U-Net at 16×16), while
                // each of these vectorizes, and a row stays in L1 between them.
                for r in range {
                    let row = xs + r * 2 * width, out = ys + r * width
                    out.update(from: row + width, count: width)
                    for c in 0..<width { out[c] = Activation.gelu(out[c]) }
                    for c in 0..<width { out[c] *= row[c] }
                }
            }
        }
    }
    return y
}
