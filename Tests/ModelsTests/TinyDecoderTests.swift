import Foundation
import Kernels
import Models
import Testing

/// TinyAutoencoder (TAESD) against diffusers' AutoencoderTiny on make_vae_fixtures.py's model.
@Suite struct TinyDecoderTests {
    static func fixture() throws -> (model: TinyAutoencoder, inputs: SafetensorsFile, expected: SafetensorsFile) {
        let folder = FixturePaths.url("vae/taesd-tiny")
        return (try TinyAutoencoder(folder: folder),
                try SafetensorsFile(url: folder.appendingPathComponent("inputs.safetensors")),
                try SafetensorsFile(url: folder.appendingPathComponent("expected.safetensors")))
    }

    @Test func decodeMatchesDiffusers() throws {
        let (model, inputs, expected) = try Self.fixture()
        let image = try model.decode(try inputs.tensor("latents"))
        let reference = try expected.tensor("image")
        #expect(image.shape == reference.shape)
        let error = maxAbsDifference(image, reference) / reference.maxAbs
        #expect(error <= 1e-4, "relative error \(error)")
    }

    @Test func encodeMatchesDiffusers() throws {
        let (model, inputs, expected) = try Self.fixture()
        let latents = try model.loadEncoder().encodeLatents(try inputs.tensor("image"))
        let reference = try expected.tensor("latents")
        #expect(latents.shape == reference.shape)
        let error = maxAbsDifference(latents, reference) / reference.maxAbs
        #expect(error <= 1e-4, "relative error \(error)")
    }

    /// The decoder has 3 + 3 + 3 + 1 blocks and polls before each.
    @Test func cancellationStopsDecodingBetweenBlocks() throws {
        let (model, inputs, _) = try Self.fixture()
        let latents = try inputs.tensor("latents")
        nonisolated(unsafe) var polls = 0
        #expect(throws: CancellationError.self) {
            _ = try model.decode(latents) {
                polls += 1
                return polls > 2
            }
        }
        #expect(polls == 3)
    }

    @Test func unsupportedConfigsAreRefusedByName() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("taesd-config-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("config.json")
        try Data(#"{"act_fn": "silu"}"#.utf8).write(to: url)
        #expect { _ = try AutoencoderTinyConfig(contentsOf: url) } throws: { "\($0)".contains("act_fn") }
        try Data(#"{"decoder_block_out_channels": [64, 32, 32, 32]}"#.utf8).write(to: url)
        #expect { _ = try AutoencoderTinyConfig(contentsOf: url) } throws: {
            "\($0)".contains("decoder_block_out_channels")
        }
        #expect { _ = try TinyAutoencoder(folder: FixturePaths.url("vae/kl-tiny")) } throws: {
            "\($0)".contains("AutoencoderKL")
        }
    }

    @Test func missingTensorErrorNamesTheKey() throws {
        let folder = FixturePaths.url("vae/taesd-tiny")
        let config = try AutoencoderTinyConfig(contentsOf: folder.appendingPathComponent("config.json"))
        let key = "decoder.layers.18.bias"
        let store = RenamedStore(try ShardedStore(folder: folder)) { $0 == key ? nil : $0 }
        #expect { _ = try TinyAutoencoder(Weights(store), config: config) } throws: { "\($0)".contains(key) }
    }
}
