import Foundation
import Kernels

/// diffusers' `DPMSolverMultistepScheduler` with algorithm_type "dpmsolver++" and solver_order 2,
/// "midpoint" solver type: DPM-Solver++(2M) (Lu et al. 2022, algorithm 2). It integrates the
/// diffusion ODE exactly in the log-SNR λ = ln(α/σ) for a data prediction that is linear in λ,
/// taking that line through this step's x₀ estimate and the previous step's.
public struct DPMSolverMultistepSampler: Sampler {
    public let timesteps: [Float]
    /// k-diffusion σ at each step, then the σ the last step ends at. timesteps.count + 1 values.
    public let sigmas: [Float]
    public let initialNoiseSigma: Float = 1
    private let prediction: PredictionType
    /// Whether the last step is first order: always when it ends at σ = 0, and in short schedules.
    private let firstOrderFinalStep: Bool
    /// The previous step's x₀ estimate, the second point of the 2M line.
    private var previousDenoised: Tensor?

    /// `karrasSigmas` replaces the config's use_karras_sigmas (the sampler kind decides it).
    public init(config: SchedulerConfig, steps: Int, karrasSigmas: Bool) throws {
        try checkSteps(steps, config)
        let defaults = SchedulerDefaults.kDiffusion
        let schedule = NoiseSchedule(config, defaults: defaults, clampsTerminalSNR: true)
        let trainSigmas = schedule.sigmas
        let spacing = config.timestepSpacing ?? defaults.timestepSpacing
        var times: [Double]
        var sigmas: [Double]
        if karrasSigmas {
            sigmas = NoiseSchedule.karrasSigmas(from: Double(trainSigmas[trainSigmas.count - 1]),
                                                to: Double(trainSigmas[0]), count: steps)
            let logSigmas = schedule.logSigmas
            times = sigmas.map { schedule.timestep(forSigma: $0, logSigmas: logSigmas) }
            // diffusers rounds these, except for cosine betas, whose timesteps it truncates.
            let cosine = (config.betaSchedule ?? defaults.betaSchedule) == .squaredCosCapV2
            times = times.map { $0.rounded(cosine ? .towardZero : .toNearestOrEven) }
        } else {
            // Spaced over steps + 1 points with the lowest dropped, except "trailing".
            times = spacing == .trailing
                ? spacing.timesteps(steps, trainTimesteps: config.trainTimesteps, offset: config.stepsOffset)
                : Array(spacing.timesteps(steps + 1, trainTimesteps: config.trainTimesteps,
                                          offset: config.stepsOffset).dropLast())
            times = times.map { $0.rounded(.toNearestOrEven) }
            sigmas = schedule.sigmas(at: times)
        }
        let last: Float = switch config.finalSigmasType {
        case .zero: 0
        case .sigmaMin: trainSigmas[0]
        }
        timesteps = times.map { Float($0) }
        self.sigmas = sigmas.map { Float($0) } + [last]
        prediction = config.predictionType
        firstOrderFinalStep = config.eulerAtFinal || (config.lowerOrderFinal && steps < 15)
            || config.finalSigmasType == .zero
    }

    public func scaleModelInput(_ latents: Tensor, step: Int) -> Tensor { latents }

    /// diffusers' `DPMSolverMultistepScheduler.add_noise` from its begin index: α_t·x₀ + σ_t·ε
    /// at the step's σ. The step after it is first order: no earlier x₀ estimate exists yet, as
    /// in diffusers, whose multistep state starts empty whatever the begin index.
    public func addNoise(_ clean: Tensor, noise: Tensor, step: Int) -> Tensor {
        let (alpha, sigma, _) = Self.variancePreserving(sigmas[step])
        return elementwise(clean, noise) { x, n in alpha * x + sigma * n }
    }

    public mutating func step(modelOutput: Tensor, step: Int, latents: Tensor,
                              noise: () -> Tensor) -> (latents: Tensor, denoised: Tensor) {
        let (alphaS, sigmaS, lambdaS) = Self.variancePreserving(sigmas[step])
        let (alphaT, sigmaT, lambdaT) = Self.variancePreserving(sigmas[step + 1])
        let denoised = prediction.denoised(modelOutput, latents: latents, alpha: alphaS, sigma: sigmaS)
        let h = lambdaT - lambdaS

        // x_t = (σ_t/σ_s)·x − α_t·(e^(−h) − 1)·D, with D this step's x₀ estimate (first order) or
        // the 2M line through it and the previous one, D₀ + ½·D₁ with D₁ = (D₀ − D₋₁)/r, r = h₋₁/h.
        // At σ_t = 0, h = ∞ and x_t = D.
        let ratio = sigmaT / sigmaS, weight = alphaT * (exp(-h) - 1)
        let next: Tensor
        if let previous = previousDenoised, !(step == timesteps.count - 1 && firstOrderFinalStep) {
            let r = (lambdaS - Self.variancePreserving(sigmas[step - 1]).lambda) / h
            next = elementwise(latents, denoised, previous) { x, d0, dPrevious in
                ratio * x - weight * d0 - 0.5 * weight * ((1 / r) * (d0 - dPrevious))
            }
        } else {
            next = elementwise(latents, denoised) { x, d0 in ratio * x - weight * d0 }
        }
        previousDenoised = denoised
        return (next, denoised)
    }

    /// α_t, σ_t and λ_t = ln(α_t/σ_t) of the variance-preserving process at k-diffusion noise σ.
    private static func variancePreserving(_ sigma: Float) -> (alpha: Float, sigma: Float, lambda: Float) {
        let alpha = 1 / (sigma * sigma + 1).squareRoot()
        let sigmaT = sigma * alpha
        return (alpha, sigmaT, log(alpha) - log(sigmaT))
    }
}
