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
        var textTime: TextTimeCondition?
        if inputs.contains("text_embeds") {
            let ids = try inputs.tensor("time_ids")
            textTime = TextTimeCondition(pooled: try inputs.tensor("text_embeds"),
                                         timeIDs: (0..<ids.shape[0]).map { Array(ids.data[$0 * 6 ..< ($0 + 1) * 6]) })
        }
        let output = try model(try inputs.tensor("sample"), timestep: try inputs.tensor("timestep").data[0],
                               context: try inputs.tensor("encoder_hidden_states"), timeCondition: condition,
                               textTime: textTime, isCancelled: isCancelled)
        return (output, try expected.tensor("sample"))
    }

    static let families = ["sd15-tiny", "sd21-tiny", "lcm-tiny", "sdxl-tiny", "ssd1b-tiny", "bksdm-tiny", "sdxs-tiny"]

    @Test(arguments: families)
    func noisePredictionMatchesDiffusers(name: String) throws {
        let (output, reference) = try Self.run(name)
        #expect(output.shape == reference.shape)
        let error = maxAbsDifference(output, reference) / reference.maxAbs
        #expect(error <= 1e-4, "\(name): relative error \(error)")
    }

    /// The bf16 path on every U-Net family (conv and linear projections, LCM's time condition,
    /// SDXL's added embedding) against the same fp32 reference: within bf16's error, not the fp32 bar.
    @Test(.enabled(if: Precision.bf16Available, "this CPU has no AVX512-BF16"), arguments: families)
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
        let refused = [
            #"{"addition_embed_type": "image", "encoder_hid_dim": 1280}"#: "encoder_hid_dim",
            #"{"addition_embed_type": "text_image"}"#: "addition_embed_type",
            #"{"addition_embed_type": "text_time", "cross_attention_dim": 2048}"#: "addition_time_embed_dim",
            #"{"mid_block_type": "UNetMidBlock2DSimpleCrossAttn"}"#: "mid_block_type",
            #"{"class_embed_type": "projection", "projection_class_embeddings_input_dim": 4}"#: "class_embed_type",
            #"{"only_cross_attention": [true]}"#: "only_cross_attention",
            #"{"transformer_layers_per_block": [[1, 1], [1, 1], [1, 1], [1, 1]]}"#: "reverse_transformer_layers_per_block",
            #"{"transformer_layers_per_block": [1, [2, 2, 2], 1, 1], "reverse_transformer_layers_per_block": 1}"#:
                "transformer_layers_per_block",
            #"{"cross_attention_dim": [768, 768, 1024, 1024]}"#: "cross_attention_dim",
        ]
        for (config, key) in refused {
            try Data(config.utf8).write(to: url)
            #expect { _ = try UNetConfig(contentsOf: url) } throws: { "\($0)".contains(key) }
        }
        try Data(#"{"block_out_channels": [320, 640], "norm_num_groups": 32}"#.utf8).write(to: url)
        #expect { _ = try UNetConfig(contentsOf: url) } throws: { "\($0)".contains("down_block_types") }
    }

    /// diffusers' readings of per-block settings: SDXL's per-level depths mirrored for the up
    /// blocks, SSD-1B's per-ResNet lists with their reverse and one-ResNet mid block, BK-SDM's
    /// `mid_block_type: null`, SDXS's per-level `only_cross_attention`.
    @Test func perBlockSettingsAreReadAsDiffusersReadsThem() throws {
        let sdxl = try UNetConfig(contentsOf: FixturePaths.url("unet/sdxl-tiny/config.json"))
        #expect(sdxl.transformerDepth == [[1, 1], [2, 2], [3, 3]])
        #expect(sdxl.upTransformerDepth == [[3, 3, 3], [2, 2, 2], [1, 1, 1]])
        #expect(sdxl.midTransformerDepth == 3)
        #expect(sdxl.textTimeEmbedding == .init(timeIDWidth: 8, inputWidth: 60))
        #expect(sdxl.textTimeEmbedding?.pooledWidth == 12)
        let ssd = try UNetConfig(contentsOf: FixturePaths.url("unet/ssd1b-tiny/config.json"))
        #expect(ssd.layersPerBlock == [2, 1, 2])
        #expect(ssd.transformerDepth == [[1, 1], [2], [3, 1]])
        #expect(ssd.upTransformerDepth == [[1, 3, 2], [2, 1], [1, 1, 1]])
        #expect(ssd.midBlock == .resnet)
        let bksdm = try UNetConfig(contentsOf: FixturePaths.url("unet/bksdm-tiny/config.json"))
        #expect(bksdm.midBlock == nil && bksdm.layersPerBlock == [1, 1, 1])
        let sdxs = try UNetConfig(contentsOf: FixturePaths.url("unet/sdxs-tiny/config.json"))
        #expect(sdxs.onlyCrossAttention == [true, false, false])
        #expect(UNetConfig.sd15.midBlock == .crossAttention)
    }
}
