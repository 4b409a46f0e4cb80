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
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ConfigError(file: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        try self.init(json: data, file: url.path)
    }

    /// Parses the bytes of a `scheduler_config.json`; `file` names it in errors.
    public init(json data: Data, file: String) throws {
        self.file = file
        // JSONDecoder rather than JSONSerialization: on Linux the latter misreads decimals in the
        // last bits (0.578948974609375 comes back 2 ulps off), and betas must be exact. JSON5,
        // because Python writes DPM-Solver's default lambda_min_clipped as -Infinity.
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        guard case .object(let json)? = try? decoder.decode(JSONValue.self, from: data) else {
            throw ConfigError(file: file, reason: "not a JSON object")
        }
        let keys = ConfigKeys(json: json, file: file)
        className = try keys.string("_class_name")
        trainTimesteps = try keys.int("num_train_timesteps", in: 2...100_000) ?? trainTimesteps
        betaStart = try keys.double("beta_start")
        betaEnd = try keys.double("beta_end")
        betaSchedule = try keys.choice("beta_schedule")
        trainedBetas = try keys.doubles("trained_betas")
        rescaleBetasZeroSNR = try keys.bool("rescale_betas_zero_snr") ?? rescaleBetasZeroSNR
        timestepSpacing = try keys.choice("timestep_spacing")
        stepsOffset = try keys.int("steps_offset", in: 0...100_000) ?? stepsOffset
        predictionType = try keys.choice("prediction_type") ?? predictionType
        useKarrasSigmas = try keys.bool("use_karras_sigmas") ?? useKarrasSigmas
        finalSigmasType = try keys.choice("final_sigmas_type") ?? finalSigmasType
        timestepType = try keys.choice("timestep_type") ?? timestepType
        setAlphaToOne = try keys.bool("set_alpha_to_one") ?? setAlphaToOne
        clipSample = try keys.bool("clip_sample")
        clipSampleRange = try keys.double("clip_sample_range") ?? clipSampleRange
        originalInferenceSteps = try keys.int("original_inference_steps", in: 1...100_000) ?? originalInferenceSteps
        timestepScaling = try keys.double("timestep_scaling") ?? timestepScaling
        algorithmType = try keys.string("algorithm_type") ?? algorithmType
        solverOrder = try keys.int("solver_order", in: 1...3) ?? solverOrder
        lowerOrderFinal = try keys.bool("lower_order_final") ?? lowerOrderFinal
        eulerAtFinal = try keys.bool("euler_at_final") ?? eulerAtFinal

        if let betas = trainedBetas, betas.count != trainTimesteps {
            throw ConfigError(file: file, reason:
                "'trained_betas' has \(betas.count) values but num_train_timesteps is \(trainTimesteps)")
        }
        // Euler's sigmas between training timesteps: only linear interpolation is implemented.
        if let interpolation = try keys.string("interpolation_type"), interpolation != "linear" {
            throw ConfigError(file: file, reason:
                "'interpolation_type' \"\(interpolation)\" is not supported (only \"linear\")")
        }
        // Options that would change the samples, which these samplers do not implement: refuse
        // them rather than quietly sample something else.
        for key in ["thresholding", "use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas",
                    "use_flow_sigmas", "use_dynamic_shifting"] where try keys.bool(key) == true {
            throw ConfigError(file: file, reason: "'\(key)': true is not supported")
        }
        if let clipped = try keys.double("lambda_min_clipped"), clipped.isFinite {
            throw ConfigError(file: file, reason: "'lambda_min_clipped' \(clipped) is not supported (only -inf)")
        }
        if let variance = try keys.string("variance_type") {
            throw ConfigError(file: file, reason: "'variance_type' \"\(variance)\" is not supported")
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

/// Any JSON value, decoded with JSONDecoder (which keeps booleans apart from numbers).
private enum JSONValue: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    var text: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value): "\"\(value)\""
        case .array(let values): "[\(values.map(\.text).joined(separator: ", "))]"
        case .object: "an object"
        }
    }
}

/// Typed reads of a config's JSON object; a present key of the wrong type or value throws
/// naming the file and the key. JSON `null` counts as absent (diffusers writes
/// `"trained_betas": null`).
private struct ConfigKeys {
    let json: [String: JSONValue]
    let file: String

    private func value(_ key: String) -> JSONValue? {
        if case .null? = json[key] { return nil }
        return json[key]
    }

    private func wrongType(_ key: String, _ expected: String, _ value: JSONValue) -> ConfigError {
        ConfigError(file: file, reason: "'\(key)' must be \(expected), got \(value.text)")
    }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let string) = value else { throw wrongType(key, "a string", value) }
        return string
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let bool) = value else { throw wrongType(key, "true or false", value) }
        return bool
    }

    func double(_ key: String) throws -> Double? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value else { throw wrongType(key, "a number", value) }
        return number
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value, number.rounded() == number,
              Double(range.lowerBound) <= number, number <= Double(range.upperBound) else {
            throw wrongType(key, "an integer in \(range.lowerBound)...\(range.upperBound)", value)
        }
        return Int(number)
    }

    func doubles(_ key: String) throws -> [Double]? {
        guard let value = value(key) else { return nil }
        guard case .array(let elements) = value else { throw wrongType(key, "an array of numbers", value) }
        return try elements.map { element in
            guard case .number(let number) = element else { throw wrongType(key, "an array of numbers", value) }
            return number
        }
    }

    func choice<Choice: RawRepresentable & CaseIterable>(_ key: String) throws -> Choice?
    where Choice.RawValue == String {
        guard let name = try string(key) else { return nil }
        guard let choice = Choice(rawValue: name) else {
            let names = Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw ConfigError(file: file, reason: "'\(key)' \"\(name)\" is not one of \(names)")
        }
        return choice
    }
}
