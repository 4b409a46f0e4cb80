import Foundation
import Kernels

/// The noise source of every generation: `torch.Generator("cpu").manual_seed(seed)` followed by
/// `torch.randn(shape)` calls, reproduced bit for bit, so a seed gives the same picture here as in
/// diffusers (whose pipelines draw their latents and sampler noise this way on the CPU).
///
/// Draws continue one stream like torch's generator does: the initial latents, then each
/// ancestral step's noise, in the order they are asked for.
///
/// What torch does, and so what this does:
/// - mt19937 seeded with the low 32 bits of the seed (torch truncates the same way).
/// - Fewer than 16 values: one at a time, Box–Muller in Double from two 53-bit uniforms, the
///   second value of each pair kept for the next draw, even a draw in a later `randn` call.
/// - 16 or more: every value first gets a 24-bit uniform, then blocks of 16 become normals
///   (Box–Muller pairing j with j + 8) in Float; when the count is not a multiple of 16 the last 16
///   are drawn again and redone. The Float math is torch's x86 AVX2 kernel (Cephes polynomials,
///   with the fused multiply-adds its compiler made of them); torch on a CPU without AVX2, or on
///   ARM, uses libm there instead and itself gives different last bits.
public struct TorchGenerator: Sendable {
    private var engine: MersenneTwister
    /// The unused sine half of the last Double Box–Muller pair (torch's `next_double_normal_sample`).
    private var cachedNormal: Double?

    public init(seed: UInt64) {
        engine = MersenneTwister(seed: UInt32(truncatingIfNeeded: seed))
    }

    /// Standard normal fp32 values of `shape`, as `torch.randn(shape, generator: self)`.
    public mutating func randn(_ shape: [Int]) -> Tensor {
        let count = shape.reduce(1, *)
        var values: [Float]
        if count >= 16 {
            values = (0..<count).map { _ in uniformFloat() }
            for start in stride(from: 0, to: count - 15, by: 16) {
                Self.boxMuller16(&values, at: start)
            }
            if count % 16 != 0 {
                for i in count - 16 ..< count { values[i] = uniformFloat() }
                Self.boxMuller16(&values, at: count - 16)
            }
        } else {
            values = (0..<count).map { _ in Float(normalDouble()) }
        }
        return Tensor(shape: shape, data: values)
    }

    // --- uniforms, as torch's uniform_real_distribution(0, 1) ---

    /// [0, 1) from the low 24 bits of one draw.
    private mutating func uniformFloat() -> Float {
        Float(engine.next() & 0xFF_FFFF) * 0x1p-24
    }

    /// [0, 1) from the low 53 bits of two draws, the first draw as the high word.
    private mutating func uniformDouble() -> Double {
        let high = UInt64(engine.next()), low = UInt64(engine.next())
        return Double((high << 32 | low) & (1 << 53 - 1)) * 0x1p-53
    }

    // --- the scalar path (fewer than 16 values) ---

    private mutating func normalDouble() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        let u1 = uniformDouble(), u2 = uniformDouble()
        let radius = (-2 * log1p(-u2)).squareRoot()
        let theta = 2 * Double.pi * u1
        cachedNormal = radius * sin(theta)
        return radius * cos(theta)
    }

    // --- the vector path (torch's normal_fill_16_AVX2) ---

    /// Turns the 16 uniforms at `start` into normals: u1 = 1 − u[j] (in (0, 1], for the log) and
    /// u2 = u[j + 8] give values[j] = r·cos θ and values[j + 8] = r·sin θ.
    private static func boxMuller16(_ values: inout [Float], at start: Int) {
        let twoPi = Float(2 * Double.pi)
        for j in start ..< start + 8 {
            let radius = (-2 * cephesLog(1 - values[j])).squareRoot()
            let (sine, cosine) = cephesSinCos(twoPi * values[j + 8])
            // torch stores fma(n, std 1, mean 0), which turns a −0 into +0.
            values[j] = radius * cosine + 0
            values[j + 8] = radius * sine + 0
        }
    }

    // The kernel's constants are C double literals rounded to float, hence `Float(… as Double)`
    // (a bare `Float(0.1)` would round the decimal straight to Float, sometimes differently).

    /// Cephes' logf polynomial, highest power first.
    private static let logCoefficients = ([
        7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
        -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
    ] as [Double]).map { Float($0) }

    /// Natural log of x in (0, 1] as torch's `log256_ps` computes it: x = m·2^e with m in
    /// [√½, √2), then a degree-9 Cephes polynomial in m − 1. Evaluation order and which products
    /// are fused follow the compiled kernel (GCC fuses a multiply into the add that consumes it,
    /// the first such multiply when two feed one add); this matched torch on 13 million values.
    private static func cephesLog(_ input: Float) -> Float {
        var exponent = Float(Int32(input.bitPattern >> 23) - 0x7F) + 1
        // The mantissa in [0.5, 1).
        var x = Float(bitPattern: input.bitPattern & ~0x7F80_0000 | Float(0.5).bitPattern)
        if x < Float(0.707106781186547524 as Double) {
            exponent -= 1
            x = x + x - 1
        } else {
            x -= 1
        }
        let z = x * x
        // y = p0, then y·x + p (one rounding) for each later coefficient.
        var y = logCoefficients[0]
        for coefficient in logCoefficients.dropFirst() {
            y = coefficient.addingProduct(y, x)
        }
        y = y * x
        y = (exponent * Float(-2.12194440e-4 as Double)).addingProduct(y, z)
        y = y.addingProduct(-z, 0.5)
        return (x + y).addingProduct(exponent, Float(0.693359375))
    }

    /// (sin θ, cos θ) for θ in [0, 2π) as torch's `sincos256_ps` computes them: reduce θ by
    /// multiples of π/4 in three parts (Cody–Waite), then a Cephes polynomial for each.
    private static func cephesSinCos(_ theta: Float) -> (sin: Float, cos: Float) {
        // j = the octant rounded up to even, and x = θ − j·π/4 in [−π/4, π/4]; θ is never negative.
        let octant = (Int32(theta * Float(1.27323954473516 as Double)) + 1) & ~1
        let j = Float(octant)
        var x = theta.addingProduct(j, Float(-0.78515625))
        x = x.addingProduct(j, Float(-2.4187564849853515625e-4))
        x = x.addingProduct(j, Float(-3.77489497744594108e-8 as Double))
        let z = x * x

        // cos x ≈ 1 − z/2 + z²·(c0·z² + c1·z + c2) and sin x ≈ x + x·z·(s0·z² + s1·z + s2).
        var cosine = Float(-1.388731625493765e-3 as Double)
            .addingProduct(Float(2.443315711809948e-5 as Double), z)
        cosine = Float(4.166664568298827e-2 as Double).addingProduct(cosine, z)
        cosine = cosine * z
        cosine = (-(z * 0.5)).addingProduct(cosine, z) + 1

        var sine = Float(8.3321608736e-3 as Double).addingProduct(Float(-1.9515295891e-4 as Double), z)
        sine = Float(-1.6666654611e-1 as Double).addingProduct(sine, z)
        sine = sine * z
        sine = x.addingProduct(sine, x)

        // Octants 2, 3 (mod 4 after rounding up) swap the two polynomials; the signs follow
        // from the octant as in Cephes.
        let swapped = octant & 2 != 0
        let sinNegative = octant & 4 != 0
        let cosNegative = (octant - 2) & 4 == 0
        let s = swapped ? cosine : sine, c = swapped ? sine : cosine
        return (sinNegative ? -s : s, cosNegative ? -c : c)
    }
}

/// MT19937, the 32-bit Mersenne Twister of C++'s std::mt19937 and torch's at::mt19937.
private struct MersenneTwister: Sendable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    init(seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ state[i - 1] >> 30) &+ UInt32(i)
        }
    }

    mutating func next() -> UInt32 {
        if index == 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= y << 7 & 0x9D2C_5680
        y ^= y << 15 & 0xEFC6_0000
        return y ^ y >> 18
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = state[i] & 0x8000_0000 | state[(i + 1) % 624] & 0x7FFF_FFFF
            state[i] = state[(i + 397) % 624] ^ y >> 1 ^ (y & 1 == 0 ? 0 : 0x9908_B0DF)
        }
        index = 0
    }
}
