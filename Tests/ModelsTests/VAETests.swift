import Foundation
import Kernels
import Models
import Testing

/// AutoencoderKL against diffusers on Tests/Fixtures/make_vae_fixtures.py's models.
@Suite struct VAETests {
    static func fixture(_ name: String) throws -> (model: AutoencoderKL, inputs: SafetensorsFile,
                                                   expected: SafetensorsFile) {
        let folder = FixturePaths.url("vae/\(name)")
        return (try AutoencoderKL(folder: folder),
                try SafetensorsFile(url: folder.appendingPathComponent("inputs.safetensors")),
                try SafetensorsFile(url: folder.appendingPathComponent("expected.safetensors")))
    }

    /// max |output − reference| / max |reference|, after checking the shapes agree.
    static func relativeError(_ output: Tensor, _ reference: Tensor) -> Float {
        #expect(output.shape == reference.shape)
        return maxAbsDifference(output, reference) / reference.maxAbs
    }

    @Test(arguments: ["kl-tiny", "kl-noquant-fp16"])
    func decodeMatchesDiffusers(name: String) throws {
        let (model, inputs, expected) = try Self.fixture(name)
        let image = try model.decode(try inputs.tensor("latents"))
        let error = Self.relativeError(image, try expected.tensor("image"))
        #expect(error <= 1e-4, "\(name): relative error \(error)")
    }

    @Test(arguments: ["kl-tiny", "kl-noquant-fp16"])
    func encodeMatchesDiffusers(name: String) throws {
        let (model, inputs, expected) = try Self.fixture(name)
        let image = try inputs.tensor("image")
        let encoder = try model.loadEncoder()
        let (mean, logVariance) = encoder.encode(image)
        for (label, output) in [("mean", mean), ("logvar", logVariance), ("latents", encoder.encodeLatents(image))] {
            let error = Self.relativeError(output, try expected.tensor(label))
            #expect(error <= 1e-4, "\(name) \(label): relative error \(error)")
        }
    }

    @Test func scaleFactorFollowsTheLevels() throws {
        #expect(try Self.fixture("kl-tiny").model.scaleFactor == 4)
    }

    /// kl-tiny's decoder polls before mid resnet, attention, mid resnet, 3 × 2 up-block ResNets
    /// and the output head: 10 checkpoints.
    @Test func cancellationStopsDecodingBetweenBlocks() throws {
        let (model, inputs, _) = try Self.fixture("kl-tiny")
        let latents = try inputs.tensor("latents")
        nonisolated(unsafe) var polls = 0
        _ = try model.decode(latents) {
            polls += 1
            return false
        }
        #expect(polls == 10)
        polls = 0
        #expect(throws: CancellationError.self) {
            _ = try model.decode(latents) {
                polls += 1
                return polls > 4
            }
        }
        #expect(polls == 5)
    }

    @Test func unsupportedConfigsAreRefusedByName() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vae-config-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("config.json")
        try Data(#"""
            {"block_out_channels": [32, 64], "norm_num_groups": 4,
             "down_block_types": ["DownEncoderBlock2D", "AttnDownEncoderBlock2D"]}
            """#.utf8).write(to: url)
        #expect { _ = try AutoencoderKLConfig(contentsOf: url) } throws: { "\($0)".contains("AttnDownEncoderBlock2D") }
        try Data(#"""
            {"block_out_channels": [32, 64], "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
             "up_block_types": ["UpDecoderBlock2D"]}
            """#.utf8).write(to: url)
        #expect { _ = try AutoencoderKLConfig(contentsOf: url) } throws: { "\($0)".contains("up_block_types") }
        try Data(#"{"latents_mean": [0.1, 0.2, 0.3, 0.4]}"#.utf8).write(to: url)
        #expect { _ = try AutoencoderKLConfig(contentsOf: url) } throws: { "\($0)".contains("latents_mean") }
        // A TAESD folder is not an AutoencoderKL.
        #expect { _ = try AutoencoderKL(folder: FixturePaths.url("vae/taesd-tiny")) } throws: {
            "\($0)".contains("AutoencoderTiny")
        }
    }

    @Test func missingTensorErrorNamesTheKey() throws {
        let folder = FixturePaths.url("vae/kl-tiny")
        let config = try AutoencoderKLConfig(contentsOf: folder.appendingPathComponent("config.json"))
        let key = "decoder.mid_block.attentions.0.to_q.bias"
        let store = RenamedStore(try ShardedStore(folder: folder)) { $0 == key ? nil : $0 }
        #expect { _ = try AutoencoderKL(Weights(store), config: config) } throws: { "\($0)".contains(key) }
    }

    /// Generating never encodes, so loading builds no encoder: a VAE whose encoder weights are
    /// missing loads and decodes, and only `loadEncoder` names the missing key.
    @Test func theEncoderIsBuiltOnlyWhenSomethingEncodes() throws {
        let folder = FixturePaths.url("vae/kl-tiny")
        let config = try AutoencoderKLConfig(contentsOf: folder.appendingPathComponent("config.json"))
        let store = RenamedStore(try ShardedStore(folder: folder)) { $0.hasPrefix("encoder.") ? nil : $0 }
        let vae = try AutoencoderKL(Weights(store), config: config)
        let (model, inputs, _) = try Self.fixture("kl-tiny")
        let latents = try inputs.tensor("latents")
        #expect(try vae.decode(latents) == model.decode(latents))
        #expect { _ = try vae.loadEncoder() } throws: { "\($0)".contains("encoder.conv_in.weight") }
    }

    /// Checkpoints saved before diffusers renamed the VAE attention (SD 1.x/2.x `vae/`) name it
    /// query/key/value/proj_attn; they must load to the same model.
    @Test func legacyAttentionNamesLoad() throws {
        let (model, inputs, expected) = try Self.fixture("kl-tiny")
        let folder = FixturePaths.url("vae/kl-tiny")
        let renames = [".to_q.": ".query.", ".to_k.": ".key.", ".to_v.": ".value.", ".to_out.0.": ".proj_attn."]
        let store = RenamedStore(try ShardedStore(folder: folder)) { key in
            renames.reduce(key) { $0.replacingOccurrences(of: $1.key, with: $1.value) }
        }
        #expect(store.contains("decoder.mid_block.attentions.0.proj_attn.weight"))
        let legacy = try AutoencoderKL(Weights(store), config: model.config)
        let latents = try inputs.tensor("latents")
        #expect(try legacy.decode(latents) == model.decode(latents))
        #expect(Self.relativeError(try legacy.decode(latents), try expected.tensor("image")) <= 1e-4)
    }
}

/// The linear latent → RGB preview.
@Suite struct LatentPreviewTests {
    @Test func mapsEachLatentPixelLinearly() {
        let preview = LatentPreview(matrix: [[1, 0, 2], [0, 1, -1]], bias: [0.5, 0, -0.5])
        // [1, 2, 1, 2]: channel 0 = (1, 2), channel 1 = (3, -1)
        let latents = Tensor(shape: [1, 2, 1, 2], data: [1, 2, 3, -1])
        let rgb = preview.decode(latents)
        #expect(rgb.shape == [1, 3, 1, 2])
        // R = 1·c0 + 0.5, G = c1, B = 2·c0 − c1 − 0.5
        #expect(rgb.data == [1.5, 2.5, 3, -1, -1.5, 4.5])
    }

    @Test func sd15FactorsKeepLatentResolutionAndBatch() {
        let latents = Tensor(shape: [2, 4, 3, 5], data: (0..<120).map { Float($0 % 7) / 7 - 0.5 })
        let rgb = LatentPreview.sd15.decode(latents)
        #expect(rgb.shape == [2, 3, 3, 5])
        // Second batch item, green, pixel 4: Σ_c latent[1, c, 4] · matrix[c][1].
        let expected = (0..<4).reduce(Float(0)) {
            $0 + latents.data[(4 + $1) * 15 + 4] * LatentPreview.sd15.matrix[$1][1]
        }
        #expect(abs(rgb.data[(3 + 1) * 15 + 4] - expected) < 1e-6)
    }

    @Test func modelFolderFactorsWinOverTheBuiltIns() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("preview-\(UUID())")
        let vae = folder.appendingPathComponent("vae")
        try FileManager.default.createDirectory(at: vae, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = vae.appendingPathComponent("config.json")
        try Data(#"{"_class_name": "AutoencoderKL", "latent_channels": 4}"#.utf8).write(to: config)
        #expect(try LatentPreview.forModel(folder: folder, unetConfig: .sd15).matrix == LatentPreview.sd15.matrix)
        try Data(#"""
            {"latent_rgb_factors": [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]],
             "latent_rgb_factors_bias": [0.1, 0.2, 0.3]}
            """#.utf8).write(to: config)
        let own = try LatentPreview.forModel(folder: folder, unetConfig: .sd15)
        #expect(own.matrix[2] == [0, 0, 1] && own.bias == [0.1, 0.2, 0.3])
        var wide = UNetConfig.sd15
        wide.outChannels = 16
        #expect { _ = try LatentPreview.forModel(folder: folder, unetConfig: wide) } throws: {
            "\($0)".contains("[16][3]")
        }
    }
}

/// A store that presents another under different names: `rename` maps each stored key to the
/// name shown (nil hides the tensor).
struct RenamedStore: TensorStore {
    let base: any TensorStore
    let storedKey: [String: String]  // shown name → stored key

    init(_ base: any TensorStore, rename: (String) -> String?) {
        self.base = base
        var storedKey: [String: String] = [:]
        for key in base.keys {
            if let shown = rename(key) { storedKey[shown] = key }
        }
        self.storedKey = storedKey
    }

    var keys: [String] { storedKey.keys.sorted() }
    func contains(_ key: String) -> Bool { storedKey[key] != nil }
    func shape(of key: String) -> [Int]? { storedKey[key].flatMap { base.shape(of: $0) } }
    func tensor(_ key: String) throws -> Tensor {
        guard let stored = storedKey[key] else { throw Hidden(key: key) }
        return try base.tensor(stored)
    }
    var origin: String { base.origin }

    struct Hidden: Error { let key: String }
}
