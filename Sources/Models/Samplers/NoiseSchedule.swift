import Foundation

/// The constructor defaults that differ between diffusers' scheduler classes: what a sampler
/// assumes for these keys when its config leaves them out.
struct SchedulerDefaults {
    var betaStart = 0.0001
    var betaEnd = 0.02
    var betaSchedule = BetaSchedule.linear
    var timestepSpacing = TimestepSpacing.linspace
    var clipSample = false

    /// EulerDiscreteScheduler, EulerAncestralDiscreteScheduler and DPMSolverMultistepScheduler.
    static let kDiffusion = SchedulerDefaults()
    static let ddim = SchedulerDefaults(timestepSpacing: .leading, clipSample: true)
    static let lcm = SchedulerDefaults(betaStart: 0.00085, betaEnd: 0.012, betaSchedule: .scaledLinear,
                                       timestepSpacing: .leading)
}

/// The training noise schedule: ᾱ_t, the fraction of signal left at each training timestep.
///
/// Computed in Float with torch's operation order, as diffusers computes it, so that sigmas agree
/// with diffusers' to the last bit or so (torch's own float32 sqrt is not always correctly rounded,
/// so a last-bit difference remains possible).
struct NoiseSchedule {
    /// ᾱ_t = Π_{s≤t} (1 − β_s) for t in 0 ..< trainTimesteps.
    let alphasCumprod: [Float]

    /// `clampsTerminalSNR`: the sigma-based schedulers set the last ᾱ of a zero-terminal-SNR
    /// schedule to 2⁻²⁴ so that its sigma is finite (DDIM and LCM keep the 0).
    init(_ config: SchedulerConfig, defaults: SchedulerDefaults, clampsTerminalSNR: Bool) {
        let count = config.trainTimesteps
        var betas: [Float]
        if let trained = config.trainedBetas {
            betas = trained.map { Float($0) }
        } else {
            let start = config.betaStart ?? defaults.betaStart, end = config.betaEnd ?? defaults.betaEnd
            switch config.betaSchedule ?? defaults.betaSchedule {
            case .linear:
                betas = torchLinspace(Float(start), Float(end), count: count)
            case .scaledLinear:
                betas = torchLinspace(Float(start.squareRoot()), Float(end.squareRoot()), count: count).map { $0 * $0 }
            case .squaredCosCapV2:
                betas = cosineBetas(count: count)
            }
        }
        if config.rescaleBetasZeroSNR {
            betas = rescaledToZeroTerminalSNR(betas)
        }
        var alphasCumprod = cumulativeProduct(betas.map { 1 - $0 })
        if config.rescaleBetasZeroSNR && clampsTerminalSNR {
            alphasCumprod[count - 1] = 0x1p-24
        }
        self.alphasCumprod = alphasCumprod
    }

    /// σ_t = √((1 − ᾱ_t)/ᾱ_t): the noise level of each training timestep in k-diffusion's
    /// parameterisation x = x₀ + σ·ε. Ascending with t.
    var sigmas: [Float] { alphasCumprod.map { ((1 - $0) / $0).squareRoot() } }
}

// --- the beta schedules ---

/// `torch.linspace(start, end, count)` in float32 as torch's CPU kernel computes it: the first half
/// counts up from `start`, the second down from `end`, each value one fused multiply-add (the
/// compiler fuses `start + step * i` in torch's x86 builds).
private func torchLinspace(_ start: Float, _ end: Float, count: Int) -> [Float] {
    let step = (end - start) / Float(count - 1)
    return (0..<count).map { i in
        i < count / 2 ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(count - 1 - i))
    }
}

/// Nichol & Dhariwal's cosine schedule: β_t = 1 − ᾱ(t+1)/ᾱ(t) with ᾱ(t) = cos²((t/T + 0.008)/1.008 · π/2),
/// capped at 0.999; in Double, as diffusers computes it in Python.
private func cosineBetas(count: Int) -> [Float] {
    func alphaBar(_ t: Double) -> Double {
        let c = cos((t + 0.008) / 1.008 * Double.pi / 2)
        return c * c
    }
    return (0..<count).map { i in
        let t1 = Double(i) / Double(count), t2 = Double(i + 1) / Double(count)
        return Float(min(1 - alphaBar(t2) / alphaBar(t1), 0.999))
    }
}

/// Lin et al. 2023, algorithm 1: shift and scale √ᾱ so that its last value is 0 and its first
/// unchanged, then turn it back into betas.
private func rescaledToZeroTerminalSNR(_ betas: [Float]) -> [Float] {
    let root = cumulativeProduct(betas.map { 1 - $0 }).map { $0.squareRoot() }
    let first = root[0], last = root[root.count - 1]
    let scale = first / (first - last)
    let alphasBar = root.map { ($0 - last) * scale }.map { $0 * $0 }
    let alphas = [alphasBar[0]] + (1 ..< alphasBar.count).map { alphasBar[$0] / alphasBar[$0 - 1] }
    return alphas.map { 1 - $0 }
}

/// `torch.cumprod` of float32 on the CPU: accumulated in Double, each prefix rounded to Float.
private func cumulativeProduct(_ values: [Float]) -> [Float] {
    var product = 1.0
    return values.map { value in
        product *= Double(value)
        return Float(product)
    }
}

// --- timesteps, as diffusers computes them with numpy (in Double) ---

extension TimestepSpacing {
    /// `steps` descending timesteps out of `trainTimesteps`, as EulerDiscreteScheduler and DDIMScheduler
    /// space them: "linspace" may be fractional (DDIM rounds it, Euler keeps it as float32);
    /// "leading" and "trailing" are whole numbers.
    ///
    /// For some step counts (61, 103, …) numpy's `arange` gives "trailing" one extra timestep, −1;
    /// diffusers then samples at timestep −1 (DDIM indexing ᾱ from the end). This stops at `steps`.
    func timesteps(_ steps: Int, trainTimesteps: Int, offset: Int) -> [Double] {
        switch self {
        case .linspace:
            return numpyLinspace(0, Double(trainTimesteps - 1), count: steps).reversed()
        case .leading:
            let ratio = trainTimesteps / steps
            return (0..<steps).reversed().map { Double($0 * ratio + offset) }
        case .trailing:
            // np.arange(T, 0, −T/steps): numpy fills start + i·δ with δ recomputed as
            // (start + step) − start.
            let start = Double(trainTimesteps)
            let delta = (start - start / Double(steps)) - start
            return (0..<steps).map { (start + Double($0) * delta).rounded(.toNearestOrEven) - 1 }
        }
    }
}

/// `numpy.linspace(start, stop, count, endpoint)`: start + i·step, the last value set to `stop`
/// exactly (with `endpoint`).
func numpyLinspace(_ start: Double, _ stop: Double, count: Int, endpoint: Bool = true) -> [Double] {
    let divisions = endpoint ? count - 1 : count
    guard divisions > 0 else { return count == 1 ? [start] : [] }
    let step = (stop - start) / Double(divisions)
    var values = (0..<count).map { Double($0) * step + start }
    if endpoint { values[count - 1] = stop }
    return values
}

// --- sigmas between and beyond the training timesteps ---

extension NoiseSchedule {
    /// σ at each (possibly fractional) timestep, linearly interpolated between training timesteps
    /// as `numpy.interp` does, and clamped to the ends.
    func sigmas(at timesteps: [Double]) -> [Double] {
        let table = sigmas
        let last = table.count - 1
        return timesteps.map { t in
            if t <= 0 { return Double(table[0]) }
            if t >= Double(last) { return Double(table[last]) }
            let low = Int(t)
            let base = Double(table[low])
            return t == Double(low) ? base : (Double(table[low + 1]) - base) * (t - Double(low)) + base
        }
    }

    /// The fractional timestep whose sigma, interpolated linearly in log σ between training
    /// timesteps, is `sigma` (diffusers' `_sigma_to_t`).
    func timestep(forSigma sigma: Double, logSigmas: [Double]) -> Double {
        let logSigma = log(max(sigma, 1e-10))
        // The last training timestep at or below log σ, so that [low, low + 1] brackets it.
        let below = logSigmas.lastIndex { logSigma >= $0 } ?? 0
        let low = min(below, logSigmas.count - 2)
        let weight = min(max((logSigmas[low] - logSigma) / (logSigmas[low] - logSigmas[low + 1]), 0), 1)
        return (1 - weight) * Double(low) + weight * Double(low + 1)
    }

    /// log σ of the training timesteps, as diffusers takes it: numpy's float32 log of the float32
    /// sigmas. (numpy's SIMD float32 log is not correctly rounded; this one is, so a Karras
    /// timestep may differ from diffusers' in its last float32 bits.)
    var logSigmas: [Double] { sigmas.map { Double(Float(log(Double($0)))) } }

    /// Karras et al. 2022 (eq. 5, ρ = 7): `count` sigmas from `max` down to `min`, evenly spaced
    /// in σ^(1/ρ), which spends more steps at low noise.
    static func karrasSigmas(from max: Double, to min: Double, count: Int) -> [Double] {
        let rho = 7.0
        let maxRoot = pow(max, 1 / rho), minRoot = pow(min, 1 / rho)
        return numpyLinspace(0, 1, count: count).map { pow(maxRoot + $0 * (minRoot - maxRoot), rho) }
    }
}
