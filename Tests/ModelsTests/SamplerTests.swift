import Foundation
import Kernels
import Models
import Testing

/// The samplers against diffusers' schedulers on the fixtures of
/// Tests/Fixtures/make_sampler_fixtures.py. Bars (issue): timesteps identical, sigmas and
/// init_noise_sigma within 1e-6 relative, a whole denoising loop within 1e-3 relative
/// (max |Δ| / max |reference|) at every step's x₀ estimate and at the end.
@Suite struct SamplerTests {
    static let configs = ["sd15", "sd21", "sd-turbo", "lcm", "cosine", "zsnr", "karras-leading"]

    /// expected.json, per sampler name.
    struct Expected: Decodable {
        struct Schedule: Decodable {
            let timesteps: [Double]?
            let sigmas: [Double]?
            let init_noise_sigma: Double?
            /// diffusers refuses this step count.
            let error: String?
        }
        struct Loop: Decodable { let timesteps: [Double] }
        let schedules: [String: Schedule]?
        let loops: [String: Loop]?
        /// diffusers refuses this sampler for this config.
        let unsupported: String?
    }

    struct Fixture {
        let config: SchedulerConfig
        let expected: [String: Expected]
        let loops: SafetensorsFile
    }

    static func load(_ name: String) throws -> Fixture {
        let folder = FixturePaths.url("samplers/\(name)")
        // JSONDecoder: JSONSerialization on Linux misreads decimals in their last bits.
        let json = try Data(contentsOf: folder.appendingPathComponent("expected.json"))
        return Fixture(
            config: try SchedulerConfig(contentsOf: folder.appendingPathComponent("scheduler_config.json")),
            expected: try JSONDecoder().decode([String: Expected].self, from: json),
            loops: try SafetensorsFile(url: folder.appendingPathComponent("loops.safetensors")))
    }

    static let fakeModelTerm = try! SafetensorsFile(url: FixturePaths.url("samplers/fake_model.safetensors")).tensor("c")

    /// The fixture's stand-in for a U-Net: 0.3·input + (0.05·t/1000 + 0.02)·C.
    static func fakeModel(_ input: Tensor, timestep: Float) -> Tensor {
        let weight = Float(0.05 * Double(timestep) / 1000 + 0.02)
        return Tensor(shape: input.shape, data: zip(input.data, fakeModelTerm.data).map { 0.3 * $0 + weight * $1 })
    }

    /// The sigma table of the samplers that have one.
    static func sigmas(_ sampler: any Sampler) -> [Float]? {
        switch sampler {
        case let euler as EulerSampler: euler.sigmas
        case let ancestral as EulerAncestralSampler: ancestral.sigmas
        case let dpm as DPMSolverMultistepSampler: dpm.sigmas
        default: nil
        }
    }

    static func relative(_ actual: Float, _ expected: Double) -> Double {
        expected == 0 ? Double(abs(actual)) : abs(Double(actual) - expected) / abs(expected)
    }

    /// max |actual − reference| / max |reference|
    static func relativeError(_ actual: Tensor, _ reference: Tensor) -> Float {
        #expect(actual.shape == reference.shape)
        let worst = zip(actual.data, reference.data).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        return worst / reference.maxAbs
    }

    // --- schedules ---

    @Test(arguments: configs)
    func timestepsSigmasAndInitialNoiseMatchDiffusers(configName: String) throws {
        let fixture = try Self.load(configName)
        // Rescaling to zero terminal SNR passes ᾱ through torch's float32 sqrt, which is not
        // correctly rounded (±1 ulp on 14% of inputs on the machine that made the fixtures, and
        // CPU-dependent), and σ = √((1 − ᾱ)/ᾱ) near t = 0 magnifies an ulp of ᾱ ≈ 0.999 about
        // 600 times. Measured on SD's betas: 3.2e-6.
        let sigmaBar = fixture.config.rescaleBetasZeroSNR ? 1e-5 : 1e-6
        for kind in SamplerKind.allCases {
            let expected = fixture.expected[kind.rawValue]!
            if let reason = expected.unsupported {
                #expect(throws: ConfigError.self, "\(configName) \(kind): diffusers refuses: \(reason)") {
                    try makeSampler(kind, config: fixture.config, steps: 4)
                }
                continue
            }
            // Euler's Karras and continuous timesteps are fractions computed from logs of sigmas;
            // numpy's float32 log and torch's float32 sqrt are not correctly rounded, so those
            // timesteps can differ in their last float32 bits. All others are exact.
            let fractional = kind == .euler
                && (fixture.config.useKarrasSigmas || fixture.config.timestepType == .continuous)
            var worstSigma = 0.0, worstNoise = 0.0, worstTimestep = 0.0
            for (steps, entry) in expected.schedules! {
                let label = "\(configName) \(kind.rawValue) \(steps) steps"
                if let error = entry.error {
                    #expect(throws: ConfigError.self, "\(label): diffusers says \(error)") {
                        try makeSampler(kind, config: fixture.config, steps: Int(steps)!)
                    }
                    continue
                }
                let sampler = try makeSampler(kind, config: fixture.config, steps: Int(steps)!)
                let timesteps = entry.timesteps!
                #expect(sampler.timesteps.count == timesteps.count, "\(label): timestep count")
                if fractional {
                    for (actual, reference) in zip(sampler.timesteps, timesteps) {
                        let difference = abs(Double(actual) - reference)
                        worstTimestep = max(worstTimestep, difference)
                        #expect(difference <= 1e-4 * max(1, abs(reference)), "\(label): timestep \(actual) vs \(reference)")
                    }
                } else {
                    #expect(sampler.timesteps.map(Double.init) == timesteps, "\(label): timesteps")
                }
                worstNoise = max(worstNoise, Self.relative(sampler.initialNoiseSigma, entry.init_noise_sigma!))
                if let sigmas = entry.sigmas {
                    let actual = try #require(Self.sigmas(sampler), "\(label): no sigmas")
                    #expect(actual.count == sigmas.count, "\(label): sigma count")
                    for (a, e) in zip(actual, sigmas) { worstSigma = max(worstSigma, Self.relative(a, e)) }
                }
            }
            #expect(worstSigma <= sigmaBar, "\(configName) \(kind.rawValue): sigmas off by \(worstSigma)")
            #expect(worstNoise <= sigmaBar, "\(configName) \(kind.rawValue): init_noise_sigma off by \(worstNoise)")
            print("schedule \(configName) \(kind.rawValue): sigmas ≤ \(worstSigma) relative, init_noise_sigma ≤ \(worstNoise), timesteps \(fractional ? "|Δ| ≤ \(worstTimestep)" : "exact")")
        }
    }

    @Test func sdTurboRecipeIsEulerWithTrailingTimesteps() throws {
        let config = try Self.load("sd-turbo").config
        let expected: [[Float]] = [[999], [999, 499], [999, 666, 332], [999, 749, 499, 249]]
        for (steps, timesteps) in zip(1...4, expected) {
            let sampler = try makeSampler(.euler, config: config, steps: steps)
            #expect(sampler.timesteps == timesteps)
            #expect(abs(sampler.initialNoiseSigma - 14.614647) < 1e-5)
        }
    }

    // --- whole loops ---

    @Test(arguments: configs)
    func denoisingLoopsMatchDiffusers(configName: String) throws {
        let fixture = try Self.load(configName)
        for kind in SamplerKind.allCases {
            guard let loops = fixture.expected[kind.rawValue]?.loops else { continue }
            var worst: Float = 0
            for (steps, entry) in loops {
                let label = "\(configName) \(kind.rawValue) \(steps) steps"
                var sampler = try makeSampler(kind, config: fixture.config, steps: Int(steps)!)
                #expect(sampler.timesteps.count == entry.timesteps.count, "\(label): timesteps")
                // As diffusers' pipelines: one generator for the initial noise and every step's.
                var generator = TorchGenerator(seed: 1234)
                var latents = generator.randn([1, 4, 8, 8])
                latents = Tensor(shape: latents.shape, data: latents.data.map { $0 * sampler.initialNoiseSigma })
                for (i, t) in sampler.timesteps.enumerated() {
                    let output = Self.fakeModel(sampler.scaleModelInput(latents, step: i), timestep: t)
                    let result = sampler.step(modelOutput: output, step: i, latents: latents) {
                        generator.randn(latents.shape)
                    }
                    latents = result.latents
                    let error = Self.relativeError(result.denoised, try fixture.loops.tensor("\(kind.rawValue)/\(steps)/denoised_\(i)"))
                    #expect(error <= 1e-3, "\(label): x₀ at step \(i) off by \(error)")
                    worst = max(worst, error)
                }
                let error = Self.relativeError(latents, try fixture.loops.tensor("\(kind.rawValue)/\(steps)/final"))
                #expect(error <= 1e-3, "\(label): final latents off by \(error)")
                worst = max(worst, error)
            }
            print("loop \(configName) \(kind.rawValue): max relative error \(worst)")
        }
    }

    // --- config decoding ---

    static func decodingError(_ json: String) -> String? {
        do {
            _ = try SchedulerConfig(json: Data(json.utf8), file: "/models/x/scheduler_config.json")
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func badJSONNamesTheFile() {
        let message = Self.decodingError(#"{"beta_start": 0.1,"#)
        #expect(message?.contains("/models/x/scheduler_config.json") == true, "\(message ?? "no error")")
        #expect(Self.decodingError("[1, 2]") != nil)
    }

    @Test func aWrongTypeNamesTheFileAndKey() {
        for (json, key) in [(#"{"beta_start": "0.00085"}"#, "beta_start"),
                            (#"{"num_train_timesteps": 999.5}"#, "num_train_timesteps"),
                            (#"{"steps_offset": true}"#, "steps_offset"),
                            (#"{"use_karras_sigmas": 1}"#, "use_karras_sigmas"),
                            (#"{"trained_betas": [0.1, "x"]}"#, "trained_betas"),
                            (#"{"prediction_type": "flow_prediction"}"#, "prediction_type"),
                            (#"{"timestep_spacing": 3}"#, "timestep_spacing")] {
            let message = Self.decodingError(json)
            #expect(message?.contains("'\(key)'") == true && message?.contains("scheduler_config.json") == true,
                    "\(json): \(message ?? "no error")")
        }
    }

    @Test func unsupportedOptionsAreRefusedNotIgnored() {
        for (json, key) in [(#"{"thresholding": true}"#, "thresholding"),
                            (#"{"interpolation_type": "log_linear"}"#, "interpolation_type"),
                            (#"{"use_exponential_sigmas": true}"#, "use_exponential_sigmas"),
                            (#"{"trained_betas": [0.1, 0.2]}"#, "trained_betas")] {
            let message = Self.decodingError(json)
            #expect(message?.contains("'\(key)'") == true, "\(json): \(message ?? "no error")")
        }
        #expect(Self.decodingError(#"{"thresholding": false, "use_karras_sigmas": false}"#) == nil)
    }

    @Test func unknownKeysAndNullsAreIgnoredAndAbsentKeysKeepClassDefaults() throws {
        let config = try SchedulerConfig(json: Data(#"""
            {"_class_name": "PNDMScheduler", "skip_prk_steps": true, "trained_betas": null,
             "some_future_key": {"a": [1]}, "steps_offset": 1}
            """#.utf8), file: "x.json")
        #expect(config.className == "PNDMScheduler")
        #expect(config.trainedBetas == nil && config.stepsOffset == 1)
        #expect(config.timestepSpacing == nil && config.betaSchedule == nil && config.clipSample == nil)
        // Absent spacing: Euler's default is linspace, DDIM's leading.
        #expect(try makeSampler(.euler, config: config, steps: 2).timesteps == [999, 0])
        #expect(try makeSampler(.ddim, config: config, steps: 2).timesteps == [501, 1])
    }

    @Test func stepCountsOutsideWhatASamplerCanRunThrow() throws {
        let config = SchedulerConfig()
        for kind in SamplerKind.allCases {
            #expect(throws: ConfigError.self) { try makeSampler(kind, config: config, steps: 0) }
        }
        #expect(throws: ConfigError.self) { try makeSampler(.lcm, config: config, steps: 51) }
        #expect(throws: ConfigError.self) { try makeSampler(.ddim, config: config, steps: 1001) }
    }
}
