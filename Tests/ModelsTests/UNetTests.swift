import Foundation
import Kernels
import Models
import Testing

/// UNet2DConditionModel against diffusers on Tests/Fixtures/make_unet_fixtures.py's models.
@Suite struct UNetTests {
    static func run(_ name: String, precision: Precision = .fp32,
                    isCancelled: @escaping () -> Bool = { false }) throws -> (Tensor, Tensor) {
        let folder = FixturePaths.url("unet/\(name)")
        let model = try UNet2DConditionModel(folder: folder, precision: precision)
        let inputs = try SafetensorsFile(url: folder.appendingPathComponent("inputs.safetensors"))
        let expected = try SafetensorsFile(url: folder.appendingPathComponent("expected.safetensors"))
        let condition = inputs.contains("timestep_cond") ? try inputs.tensor("timestep_cond") : nil
        let output = try model(try inputs.tensor("sample"), timestep: try inputs.tensor("timestep").data[0],
                               context: try inputs.tensor("encoder_hidden_states"), timeCondition: condition,
                               isCancelled: isCancelled)
        return (output, try expected.tensor("sample"))
    }

    @Test(arguments: ["sd15-tiny", "sd21-tiny", "lcm-tiny"])
    func noisePredictionMatchesDiffusers(name: String) throws {
        let (output, reference) = try Self.run(name)
        #expect(output.shape == reference.shape)
        let error = maxAbsDifference(output, reference) / reference.maxAbs
        #expect(error <= 1e-4, "\(name): relative error \(error)")
    }

    /// The bf16 path on every U-Net family (conv and linear projections, LCM's time condition)
    /// against the same fp32 reference: within bf16's error, not the fp32 bar.
    @Test(.enabled(if: Precision.bf16Available, "this CPU has no AVX512-BF16"),
          arguments: ["sd15-tiny", "sd21-tiny", "lcm-tiny"])
    func bf16NoisePredictionStaysWithinBF16OfDiffusers(name: String) throws {
        let (output, reference) = try Self.run(name, precision: .bf16)
        #expect(output.shape == reference.shape)
        let error = maxAbsDifference(output, reference) / reference.maxAbs
        #expect(error <= 3e-2 && error > 1e-5, "\(name): relative error \(error)")
    }

    @Test func cancellationStopsTheCallBetweenBlocks() throws {
        nonisolated(unsafe) var polls = 0
        #expect(throws: CancellationError.self) {
            _ = try Self.run("sd15-tiny") {
                polls += 1
                return polls > 3
            }
        }
        #expect(polls == 4)
    }

    @Test func unsupportedConfigsAreRefusedByName() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unet-config-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("config.json")
        try Data(#"{"addition_embed_type": "text_time", "cross_attention_dim": 2048}"#.utf8).write(to: url)
        #expect { _ = try UNetConfig(contentsOf: url) } throws: { "\($0)".contains("addition_embed_type") }
        try Data(#"{"block_out_channels": [320, 640], "norm_num_groups": 32}"#.utf8).write(to: url)
        #expect { _ = try UNetConfig(contentsOf: url) } throws: { "\($0)".contains("down_block_types") }
    }
}
