import Foundation

/// A diffusers `scheduler_config.json`: the noise schedule a model was trained with and how its
/// authors sample it.
///
/// Any scheduler class's config reads (an SD 1.5 `PNDMScheduler` config drives every sampler
/// here); keys this type does not know are ignored. Keys whose constructor default differs
/// between diffusers' classes stay `nil` when absent, and each sampler fills them in with the
/// default of the class it reproduces (`SchedulerDefaults`); every other absent key takes the
/// default that all of diffusers' classes share, as in `init()`.
public struct SchedulerConfig: Sendable, Equatable {
    /// Where the config came from, for error messages.
    public var file: String = "scheduler_config.json"
    /// `_class_name`: the scheduler the model's authors chose (informational).
    public var className: String?

    // --- the training noise schedule ---
    public var trainTimesteps = 1000
    public var betaStart: Double?
    public var betaEnd: Double?
    public var betaSchedule: BetaSchedule?
    /// Betas given outright, one per training timestep; overrides the three keys above.
    public var trainedBetas: [Double]?
    /// Rescales the betas so the last timestep is pure noise (Lin et al. 2023, "Common Diffusion
    /// Noise Schedules and Sample Steps are Flawed").
    public var rescaleBetasZeroSNR = false

    // --- timesteps ---
    public var timestepSpacing: TimestepSpacing?
    /// Added to "leading" timesteps (SD 1.x and 2.x use 1).
    public var stepsOffset = 0
    public var predictionType = PredictionType.epsilon

    // --- sigma-based samplers (Euler, Euler ancestral, DPM-Solver) ---
    public var useKarrasSigmas = false
    /// The sigma after the last step.
    public var finalSigmasType = FinalSigmas.zero
    /// "continuous" (with v-prediction) makes Euler's timesteps 0.25·ln σ, for EDM-style models.
    public var timestepType = TimestepType.discrete

    // --- DDIM and LCM ---
    /// Whether the step to timestep −1 ends at ᾱ = 1 (else at ᾱ of timestep 0).
    public var setAlphaToOne = true
    /// Clamp the predicted clean sample to ±`clipSampleRange`.
    public var clipSample: Bool?
    public var clipSampleRange = 1.0

    // --- LCM ---
    /// The step count the consistency model was distilled with; its timesteps are a subset of these.
    public var originalInferenceSteps = 50
    public var timestepScaling = 10.0

    // --- DPM-Solver (read for completeness: the `dpm++2m` kinds fix algorithm and order) ---
    public var algorithmType = "dpmsolver++"
    public var solverOrder = 2
    /// Use first-order steps at the end of short (< 15 step) schedules, for stability.
    public var lowerOrderFinal = true
    public var eulerAtFinal = false

    /// Every key absent: diffusers' shared defaults, the class-specific ones left `nil`.
    public init() {}

    /// Reads `scheduler_config.json`; errors name the file and the offending key.
    public init(contentsOf url: URL) throws {
        try self.init(try ConfigJSON(contentsOf: url))
    }

    /// Parses the bytes of a `scheduler_config.json`; `file` names it in errors.
    public init(json data: Data, file: String) throws {
        try self.init(try ConfigJSON(data: data, file: file))
    }

    init(_ json: ConfigJSON) throws {
        file = json.file
        className = try json.string("_class_name")
        trainTimesteps = try json.int("num_train_timesteps", in: 2...100_000) ?? trainTimesteps
        betaStart = try json.double("beta_start")
        betaEnd = try json.double("beta_end")
        betaSchedule = try json.choice("beta_schedule")
        trainedBetas = try json.doubles("trained_betas")
        rescaleBetasZeroSNR = try json.bool("rescale_betas_zero_snr") ?? rescaleBetasZeroSNR
        timestepSpacing = try json.choice("timestep_spacing")
        stepsOffset = try json.int("steps_offset", in: 0...100_000) ?? stepsOffset
        predictionType = try json.choice("prediction_type") ?? predictionType
        useKarrasSigmas = try json.bool("use_karras_sigmas") ?? useKarrasSigmas
        finalSigmasType = try json.choice("final_sigmas_type") ?? finalSigmasType
        timestepType = try json.choice("timestep_type") ?? timestepType
        setAlphaToOne = try json.bool("set_alpha_to_one") ?? setAlphaToOne
        clipSample = try json.bool("clip_sample")
        clipSampleRange = try json.double("clip_sample_range") ?? clipSampleRange
        originalInferenceSteps = try json.int("original_inference_steps", in: 1...100_000) ?? originalInferenceSteps
        timestepScaling = try json.double("timestep_scaling") ?? timestepScaling
        algorithmType = try json.string("algorithm_type") ?? algorithmType
        solverOrder = try json.int("solver_order", in: 1...3) ?? solverOrder
        lowerOrderFinal = try json.bool("lower_order_final") ?? lowerOrderFinal
        eulerAtFinal = try json.bool("euler_at_final") ?? eulerAtFinal

        if let betas = trainedBetas, betas.count != trainTimesteps {
            throw json.fail(
                "'trained_betas' has \(betas.count) values but num_train_timesteps is \(trainTimesteps)")
        }
        // Euler's sigmas between training timesteps: only linear interpolation is implemented.
        if let interpolation = try json.string("interpolation_type"), interpolation != "linear" {
            throw json.fail(
                "'interpolation_type' \"\(interpolation)\" is not supported (only \"linear\")")
        }
        // Options that would change the samples, which these samplers do not implement: refuse
        // them rather than quietly sample something else.
        for key in ["thresholding", "use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas",
                    "use_flow_sigmas", "use_dynamic_shifting"] where try json.bool(key) == true {
            throw json.fail("'\(key)': true is not supported")
        }
        if let clipped = try json.double("lambda_min_clipped"), clipped.isFinite {
            throw json.fail("'lambda_min_clipped' \(clipped) is not supported (only -inf)")
        }
        if let variance = try json.string("variance_type") {
            throw json.fail("'variance_type' \"\(variance)\" is not supported")
        }
    }
}

public enum BetaSchedule: String, Sendable, CaseIterable {
    case linear
    /// Linear in √β: Stable Diffusion's.
    case scaledLinear = "scaled_linear"
    /// Nichol & Dhariwal's cosine schedule, β capped at 0.999.
    case squaredCosCapV2 = "squaredcos_cap_v2"
}

/// What the U-Net predicts.
public enum PredictionType: String, Sendable, CaseIterable {
    /// The noise ε.
    case epsilon
    /// The velocity v = √ᾱ·ε − √(1−ᾱ)·x₀ (SD 2.x 768 models).
    case vPrediction = "v_prediction"
    /// The clean sample x₀.
    case sample
}

/// How `steps` timesteps are picked from the training timesteps (Lin et al. 2023, table 2).
public enum TimestepSpacing: String, Sendable, CaseIterable {
    case linspace, leading, trailing
}

public enum FinalSigmas: String, Sendable, CaseIterable {
    case zero
    /// The smallest training sigma, σ(t = 0).
    case sigmaMin = "sigma_min"
}

public enum TimestepType: String, Sendable, CaseIterable {
    case discrete, continuous
}
