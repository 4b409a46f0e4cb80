import Kernels

/// diffusers' `LCMScheduler` (Luo et al. 2023, multistep latent consistency sampling): each step
/// maps the latents straight to a clean estimate with the consistency function
/// f(x, t) = c_skip(t)·x + c_out(t)·x̂₀, then re-noises it to the next timestep with fresh noise.
///
/// Its timesteps are a subset of the `original_inference_steps` evenly spaced ones the model was
/// distilled on; `timestep_spacing` and `steps_offset` play no part (nor do they in diffusers).
public struct LCMSampler: Sampler {
    public let timesteps: [Float]
    public let initialNoiseSigma: Float = 1
    private let alphasCumprod: [Float]
    private let timestepScaling: Float
    private let clipRange: Float?
    private let prediction: PredictionType

    public init(config: SchedulerConfig, steps: Int) throws {
        try checkSteps(steps, config)
        let original = config.originalInferenceSteps
        guard original <= config.trainTimesteps else {
            throw ConfigError(file: config.file, reason:
                "'original_inference_steps' \(original) is more than num_train_timesteps \(config.trainTimesteps)")
        }
        guard steps <= original else {
            throw ConfigError(file: config.file, reason:
                "lcm picks its \(steps) steps from 'original_inference_steps' (\(original)): ask for at most \(original)")
        }
        alphasCumprod = NoiseSchedule(config, defaults: .lcm, clampsTerminalSNR: false).alphasCumprod
        // The distillation schedule k−1, 2k−1, …, T−1 (k = T / original), descending, sampled at
        // `steps` evenly spaced positions.
        let k = config.trainTimesteps / original
        let distilled = (1...original).reversed().map { $0 * k - 1 }
        timesteps = numpyLinspace(0, Double(original), count: steps, endpoint: false)
            .map { Float(distilled[Int($0.rounded(.down))]) }
        timestepScaling = Float(config.timestepScaling)
        clipRange = (config.clipSample ?? SchedulerDefaults.lcm.clipSample) ? Float(config.clipSampleRange) : nil
        prediction = config.predictionType
    }

    public func scaleModelInput(_ latents: Tensor, step: Int) -> Tensor { latents }

    /// diffusers' `LCMScheduler.add_noise` at the step's timestep.
    public func addNoise(_ clean: Tensor, noise: Tensor, step: Int) -> Tensor {
        variancePreservingNoise(clean, noise: noise, alphaCumprod: alphasCumprod[Int(timesteps[step])])
    }

    public mutating func step(modelOutput: Tensor, step: Int, latents: Tensor,
                              noise: () -> Tensor) -> (latents: Tensor, denoised: Tensor) {
        let t = timesteps[step]
        let alphaBar = alphasCumprod[Int(t)]

        // Boundary-condition scalings with σ_data = 0.5: f is the identity at t = 0 and the model's
        // x₀ estimate once t·timestep_scaling is large.
        let scaledT = t * timestepScaling
        let cSkip = 0.25 / (scaledT * scaledT + 0.25)
        let cOut = scaledT / (scaledT * scaledT + 0.25).squareRoot()

        var estimate = prediction.denoised(modelOutput, latents: latents,
                                           alpha: alphaBar.squareRoot(), sigma: (1 - alphaBar).squareRoot())
        if let clipRange { estimate = clamped(estimate, to: clipRange) }
        let denoised = elementwise(estimate, latents) { x0, x in cOut * x0 + cSkip * x }

        guard step + 1 < timesteps.count else { return (denoised, denoised) }
        let alphaBarNext = alphasCumprod[Int(timesteps[step + 1])]
        let alphaNext = alphaBarNext.squareRoot(), sigmaNext = (1 - alphaBarNext).squareRoot()
        return (elementwise(denoised, noise()) { x0, n in alphaNext * x0 + sigmaNext * n }, denoised)
    }
}
