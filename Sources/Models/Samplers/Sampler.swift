import Kernels

/// A diffusion sampler: the timesteps to call the U-Net at, and the update that turns each U-Net
/// output into the next latents. Each reproduces one diffusers scheduler after
/// `set_timesteps(steps)`, driven the way diffusers' pipelines drive it:
///
///     var latents = noise.randn(shape) · initialNoiseSigma   // or, from an image, addNoise(x₀, noise, start)
///     for i in timesteps.indices {                            // or start..<timesteps.count
///         output = unet(scaleModelInput(latents, step: i), timesteps[i])
///         (latents, denoised) = step(modelOutput: output, step: i, latents: latents, noise: …)
///     }                                                      // latents: the final sample
///
/// The caller owns the loop, so it can preview `denoised`, report progress or stop between steps.
public protocol Sampler: Sendable {
    /// The timesteps the U-Net is called at, in order (diffusers' `scheduler.timesteps`).
    ///
    /// Float because that is how the U-Net embeds them; diffusers holds them as float32 (Euler) or
    /// int64 below 2²⁴ (the rest), both exact in Float. `steps` of them.
    var timesteps: [Float] { get }

    /// Multiplies the unit Gaussian noise that the loop starts from (diffusers' `init_noise_sigma`).
    var initialNoiseSigma: Float { get }

    /// The U-Net's input at step `step` (an index into `timesteps`) for these latents (diffusers'
    /// `scale_model_input`).
    func scaleModelInput(_ latents: Tensor, step: Int) -> Tensor

    /// Clean latents `clean` with unit Gaussian `noise` mixed in at the noise level of step `step`
    /// (diffusers' `add_noise` at `timesteps[step]`): where image-to-image starts its loop. Not
    /// scaled by `initialNoiseSigma`, as diffusers' img2img pipeline does not scale it.
    func addNoise(_ clean: Tensor, noise: Tensor, step: Int) -> Tensor

    /// Advances the latents past step `step`, given the U-Net's output for
    /// `scaleModelInput(latents, step:)` at `timesteps[step]`.
    ///
    /// Call once per step, in order 0, 1, …: multistep samplers remember earlier outputs.
    /// `noise` returns unit Gaussian noise shaped like the latents; the samplers that inject noise
    /// (Euler ancestral, LCM) call it when diffusers draws, so drawing it from the generator that
    /// made the initial noise reproduces diffusers' samples. Returns the new latents and the current estimate of the clean
    /// latents (x₀, "denoised"), for previews.
    mutating func step(modelOutput: Tensor, step: Int, latents: Tensor,
                       noise: () -> Tensor) -> (latents: Tensor, denoised: Tensor)
}

/// The samplers on offer; raw values are the CLI's `--sampler` names.
public enum SamplerKind: String, Sendable, CaseIterable {
    case euler
    case eulerAncestral = "euler_a"
    case ddim
    case lcm
    case dpmpp2m = "dpm++2m"
    case dpmpp2mKarras = "dpm++2m-karras"
}

/// The sampler `kind` for a model's scheduler config, set up for `steps` steps.
///
/// The config supplies the noise schedule and its options; the kind picks the algorithm. So the
/// DPM++ kinds are DPMSolverMultistepScheduler with algorithm "dpmsolver++", order 2 and the
/// "midpoint" solver, and with
/// Karras sigmas off ("dpm++2m") or on ("dpm++2m-karras") whatever the config says; Euler follows
/// the config's `use_karras_sigmas`. Throws a `ConfigError` for combinations diffusers refuses.
public func makeSampler(_ kind: SamplerKind, config: SchedulerConfig, steps: Int) throws -> any Sampler {
    switch kind {
    case .euler: try EulerSampler(config: config, steps: steps)
    case .eulerAncestral: try EulerAncestralSampler(config: config, steps: steps)
    case .ddim: try DDIMSampler(config: config, steps: steps)
    case .lcm: try LCMSampler(config: config, steps: steps)
    case .dpmpp2m: try DPMSolverMultistepSampler(config: config, steps: steps, karrasSigmas: false)
    case .dpmpp2mKarras: try DPMSolverMultistepSampler(config: config, steps: steps, karrasSigmas: true)
    }
}

/// The variance-preserving schedulers' `add_noise` (DDIM, LCM): √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε.
func variancePreservingNoise(_ clean: Tensor, noise: Tensor, alphaCumprod: Float) -> Tensor {
    let alpha = alphaCumprod.squareRoot(), sigma = (1 - alphaCumprod).squareRoot()
    return elementwise(clean, noise) { x, n in alpha * x + sigma * n }
}

/// Refuses a step count below 1, which no sampler can run.
func checkSteps(_ steps: Int, _ config: SchedulerConfig) throws {
    guard steps >= 1 else {
        throw ConfigError(file: config.file, reason: "steps must be at least 1, got \(steps)")
    }
}

// --- the two ways a sampler reads x₀ off the model output ---

extension PredictionType {
    /// x₀ in k-diffusion's parameterisation, where latents are x = x₀ + σ·ε (Euler samplers).
    func denoised(_ output: Tensor, latents: Tensor, sigma: Float) -> Tensor {
        switch self {
        case .epsilon:
            return elementwise(latents, output) { x, epsilon in x - sigma * epsilon }
        case .vPrediction:
            // The variance-preserving formula below with x_vp = x/√(σ² + 1).
            let cOut = -sigma / (sigma * sigma + 1).squareRoot(), variance = sigma * sigma + 1
            return elementwise(latents, output) { x, v in v * cOut + x / variance }
        case .sample:
            return output
        }
    }

    /// x₀ in the variance-preserving parameterisation, where latents are x = α·x₀ + σ·ε with
    /// α² + σ² = 1 (α = √ᾱ; DDIM, LCM, DPM-Solver).
    func denoised(_ output: Tensor, latents: Tensor, alpha: Float, sigma: Float) -> Tensor {
        switch self {
        case .epsilon: elementwise(latents, output) { x, epsilon in (x - sigma * epsilon) / alpha }
        case .vPrediction: elementwise(latents, output) { x, v in alpha * x - sigma * v }
        case .sample: output
        }
    }
}
