import Foundation
import Kernels

/// diffusers' `EulerDiscreteScheduler`: Euler's method on the probability-flow ODE
/// dx/dσ = (x − x₀)/σ (Karras et al. 2022, algorithm 2 without churn), in k-diffusion's
/// parameterisation x = x₀ + σ·ε. With timestep_spacing "trailing" this is SD-Turbo's sampler.
public struct EulerSampler: Sampler {
    public let timesteps: [Float]
    /// σ at each step, then the σ the last step ends at (0, or σ_min for final_sigmas_type
    /// "sigma_min"). timesteps.count + 1 values.
    public let sigmas: [Float]
    public let initialNoiseSigma: Float
    private let prediction: PredictionType

    public init(config: SchedulerConfig, steps: Int) throws {
        try checkSteps(steps, config)
        let schedule = NoiseSchedule(config, defaults: .kDiffusion, clampsTerminalSNR: true)
        let spacing = config.timestepSpacing ?? SchedulerDefaults.kDiffusion.timestepSpacing
        var times = spacing.timesteps(steps, trainTimesteps: config.trainTimesteps, offset: config.stepsOffset)
            .map { Double(Float($0)) }  // diffusers' timesteps are float32 before sigmas are looked up
        var sigmas = schedule.sigmas(at: times)
        if config.useKarrasSigmas {
            sigmas = NoiseSchedule.karrasSigmas(from: sigmas[0], to: sigmas[sigmas.count - 1], count: steps)
            let logSigmas = schedule.logSigmas
            times = sigmas.map { schedule.timestep(forSigma: $0, logSigmas: logSigmas) }
        }
        let last: Double = switch config.finalSigmasType {
        case .zero: 0
        case .sigmaMin: Double(schedule.sigmas[0])
        }
        self.sigmas = (sigmas + [last]).map { Float($0) }
        if config.timestepType == .continuous && config.predictionType == .vPrediction {
            // EDM-style models are conditioned on c_noise = ln(σ)/4 rather than a timestep.
            timesteps = self.sigmas.dropLast().map { 0.25 * Float(log(Double($0))) }
        } else {
            timesteps = times.map { Float($0) }
        }
        initialNoiseSigma = eulerInitialNoiseSigma(self.sigmas, spacing: spacing)
        prediction = config.predictionType
    }

    public func scaleModelInput(_ latents: Tensor, step: Int) -> Tensor {
        eulerModelInput(latents, sigma: sigmas[step])
    }

    /// diffusers' `EulerDiscreteScheduler.add_noise` from its begin index: x₀ + σ·ε.
    public func addNoise(_ clean: Tensor, noise: Tensor, step: Int) -> Tensor {
        eulerNoise(clean, noise: noise, sigma: sigmas[step])
    }

    public mutating func step(modelOutput: Tensor, step: Int, latents: Tensor,
                              noise: () -> Tensor) -> (latents: Tensor, denoised: Tensor) {
        let sigma = sigmas[step]
        let denoised = prediction.denoised(modelOutput, latents: latents, sigma: sigma)
        let dt = sigmas[step + 1] - sigma
        // x + (dx/dσ)·Δσ with dx/dσ = (x − x₀)/σ.
        return (elementwise(latents, denoised) { x, x0 in x + (x - x0) / sigma * dt }, denoised)
    }
}

/// The Euler schedulers' `scale_model_input`: x / √(σ² + 1), unit variance, as the U-Net was
/// trained to see.
func eulerModelInput(_ latents: Tensor, sigma: Float) -> Tensor {
    let scale = (sigma * sigma + 1).squareRoot()
    return elementwise(latents) { $0 / scale }
}

/// The Euler schedulers' `add_noise`: x₀ + ε·σ, k-diffusion's x = x₀ + σ·ε.
func eulerNoise(_ clean: Tensor, noise: Tensor, sigma: Float) -> Tensor {
    elementwise(clean, noise) { x, n in x + n * sigma }
}

/// The Euler schedulers' `init_noise_sigma`: the largest σ, or the standard deviation of x at it,
/// √(σ² + 1), for "leading" spacing (whose first timestep is below the last training one).
func eulerInitialNoiseSigma(_ sigmas: [Float], spacing: TimestepSpacing) -> Float {
    let largest = sigmas.max()!
    return spacing == .leading ? (largest * largest + 1).squareRoot() : largest
}
