import Kernels

/// diffusers' `DDIMScheduler` with η = 0 (Song et al. 2020, eq. 12): deterministic, in the
/// variance-preserving parameterisation x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε. Each step predicts x₀ and ε
/// and recombines them at the previous timestep's ᾱ.
public struct DDIMSampler: Sampler {
    public let timesteps: [Float]
    public let initialNoiseSigma: Float = 1
    private let alphasCumprod: [Float]
    /// ᾱ after the last step: 1, or ᾱ₀ when set_alpha_to_one is false.
    private let finalAlphaCumprod: Float
    /// diffusers steps from t to t − trainTimesteps / steps, whatever the spacing, so with
    /// "trailing" spacing a step can land one timestep off the next one it samples at.
    private let stride: Int
    private let clipRange: Float?
    private let prediction: PredictionType

    public init(config: SchedulerConfig, steps: Int) throws {
        try checkSteps(steps, config)
        guard steps <= config.trainTimesteps else {
            throw ConfigError(file: config.file, reason:
                "ddim cannot take \(steps) steps: num_train_timesteps is \(config.trainTimesteps)")
        }
        let schedule = NoiseSchedule(config, defaults: .ddim, clampsTerminalSNR: false)
        alphasCumprod = schedule.alphasCumprod
        finalAlphaCumprod = config.setAlphaToOne ? 1 : alphasCumprod[0]
        let spacing = config.timestepSpacing ?? SchedulerDefaults.ddim.timestepSpacing
        timesteps = spacing.timesteps(steps, trainTimesteps: config.trainTimesteps, offset: config.stepsOffset)
            .map { Float($0.rounded(.toNearestOrEven)) }
        if let first = timesteps.first, Int(first) >= config.trainTimesteps {
            throw ConfigError(file: config.file, reason: "'steps_offset' \(config.stepsOffset) puts the first "
                + "of \(steps) timesteps at \(Int(first)), past the last training timestep")
        }
        stride = config.trainTimesteps / steps
        clipRange = (config.clipSample ?? SchedulerDefaults.ddim.clipSample) ? Float(config.clipSampleRange) : nil
        prediction = config.predictionType
    }

    public func scaleModelInput(_ latents: Tensor, step: Int) -> Tensor { latents }

    /// diffusers' `DDIMScheduler.add_noise` at the step's timestep.
    public func addNoise(_ clean: Tensor, noise: Tensor, step: Int) -> Tensor {
        variancePreservingNoise(clean, noise: noise, alphaCumprod: alphasCumprod[Int(timesteps[step])])
    }

    public mutating func step(modelOutput: Tensor, step: Int, latents: Tensor,
                              noise: () -> Tensor) -> (latents: Tensor, denoised: Tensor) {
        let t = Int(timesteps[step]), previous = t - stride
        let alphaBar = alphasCumprod[t]
        let alphaBarPrevious = previous >= 0 ? alphasCumprod[previous] : finalAlphaCumprod
        let alpha = alphaBar.squareRoot(), sigma = (1 - alphaBar).squareRoot()

        var denoised = prediction.denoised(modelOutput, latents: latents, alpha: alpha, sigma: sigma)
        let epsilon = switch prediction {
        case .epsilon: modelOutput
        case .vPrediction: elementwise(modelOutput, latents) { v, x in alpha * v + sigma * x }
        case .sample: elementwise(latents, denoised) { x, x0 in (x - alpha * x0) / sigma }
        }
        // ε stays as predicted from the unclipped x₀ (diffusers' use_clipped_model_output = false).
        if let clipRange { denoised = clamped(denoised, to: clipRange) }
        let alphaPrevious = alphaBarPrevious.squareRoot(), sigmaPrevious = (1 - alphaBarPrevious).squareRoot()
        return (elementwise(denoised, epsilon) { x0, e in alphaPrevious * x0 + sigmaPrevious * e }, denoised)
    }
}
