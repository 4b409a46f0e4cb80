import Kernels

/// diffusers' `EulerAncestralDiscreteScheduler` (k-diffusion's `sample_euler_ancestral`, η = 1):
/// each step goes deterministically down to σ_down, then adds fresh noise of size σ_up, with
/// σ_down² + σ_up² = σ_next², so the latents always carry the noise level of the next step.
public struct EulerAncestralSampler: Sampler {
    public let timesteps: [Float]
    /// σ at each step, then 0. timesteps.count + 1 values.
    public let sigmas: [Float]
    public let initialNoiseSigma: Float
    private let prediction: PredictionType

    public init(config: SchedulerConfig, steps: Int) throws {
        try checkSteps(steps, config)
        guard config.predictionType != .sample else {
            throw ConfigError(file: config.file, reason: "'prediction_type' \"sample\" is not supported "
                + "by euler_a (diffusers' EulerAncestralDiscreteScheduler lacks it too)")
        }
        let schedule = NoiseSchedule(config, defaults: .kDiffusion, clampsTerminalSNR: true)
        let spacing = config.timestepSpacing ?? SchedulerDefaults.kDiffusion.timestepSpacing
        let times = spacing.timesteps(steps, trainTimesteps: config.trainTimesteps, offset: config.stepsOffset)
            .map { Float($0) }
        timesteps = times
        sigmas = schedule.sigmas(at: times.map { Double($0) }).map { Float($0) } + [0]
        initialNoiseSigma = eulerInitialNoiseSigma(sigmas, spacing: spacing)
        prediction = config.predictionType
    }

    public func scaleModelInput(_ latents: Tensor, step: Int) -> Tensor {
        eulerModelInput(latents, sigma: sigmas[step])
    }

    public func addNoise(_ clean: Tensor, noise: Tensor, step: Int) -> Tensor {
        eulerNoise(clean, noise: noise, sigma: sigmas[step])
    }

    public mutating func step(modelOutput: Tensor, step: Int, latents: Tensor,
                              noise: () -> Tensor) -> (latents: Tensor, denoised: Tensor) {
        let sigma = sigmas[step], sigmaNext = sigmas[step + 1]
        let denoised = prediction.denoised(modelOutput, latents: latents, sigma: sigma)
        let up = (sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext) / (sigma * sigma)).squareRoot()
        // Mathematically σ_up < σ_next; the max keeps rounding from making a NaN.
        let down = max(sigmaNext * sigmaNext - up * up, 0).squareRoot()
        let dt = down - sigma
        // An Euler step to σ_down, then noise up to σ_next. Noise is drawn on the last step too
        // (σ_up = 0 there), as diffusers draws it.
        let next = elementwise(latents, denoised, noise()) { x, x0, n in x + (x - x0) / sigma * dt + n * up }
        return (next, denoised)
    }
}
