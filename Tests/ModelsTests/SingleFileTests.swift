import Foundation
import Kernels
import Models
import Testing

/// Single-file checkpoints against the same weights as diffusers folders, both written by
/// Tests/Fixtures/make_single_file_fixtures.py (which checks the files with diffusers' own converters).
@Suite struct SingleFileTests {
    typealias Family = ModelFamily

    static func fixture(_ name: String) -> URL { FixturePaths.url("single-file/\(name)") }

    static func open(_ name: String) throws -> SingleFileCheckpoint {
        try SingleFileCheckpoint(url: fixture("\(name).safetensors"))
    }

    // MARK: Family and configs

    @Test(arguments: [("sd1-tiny", Family.sd1), ("sd2-tiny", Family.sd2)])
    func familyAndConfigsMatchTheFolder(name: String, family: Family) throws {
        let checkpoint = try Self.open(name)
        let folder = Self.fixture(name)
        #expect(checkpoint.family == family)

        // What the weights cannot show comes from the family: 32 GroupNorm groups (the tiny models
        // use 4) and the heads rule (which the tiny SD 2.x U-Net, narrower than one 64-wide head,
        // cannot follow; `familyRulesGiveTheReferenceConfigs` checks it at SD's sizes).
        let unet = try UNetConfig(contentsOf: folder.appendingPathComponent("unet/config.json"))
        var inferredUNet = checkpoint.unetConfig
        #expect(inferredUNet.normGroups == 32)
        #expect(inferredUNet.heads == family.unetHeads(blockOutChannels: inferredUNet.blockOutChannels))
        inferredUNet.normGroups = unet.normGroups
        if family == .sd2 { inferredUNet.heads = unet.heads }
        #expect(inferredUNet == unet)

        #expect(checkpoint.textEncoderConfig
                == (try CLIPTextConfig(contentsOf: folder.appendingPathComponent("text_encoder/config.json"))))

        let vae = try AutoencoderKLConfig(contentsOf: folder.appendingPathComponent("vae/config.json"))
        var inferredVAE = checkpoint.vaeConfig
        #expect(inferredVAE.normGroups == 32)
        inferredVAE.normGroups = vae.normGroups
        #expect(inferredVAE == vae)

        // SD 2.x files cannot tell v-prediction (2.x-768) from epsilon (2.x-base, Turbo).
        #expect(checkpoint.predictionType == (family == .sd1 ? "epsilon" : nil))
    }

    @Test func familyRulesGiveTheReferenceConfigs() {
        #expect(Family.sd1.unetHeads(blockOutChannels: UNetConfig.sd15.blockOutChannels) == UNetConfig.sd15.heads)
        #expect(Family.sd2.unetHeads(blockOutChannels: UNetConfig.sd21.blockOutChannels) == UNetConfig.sd21.heads)
        #expect(Family.sd1.textEncoderConfig(vocabularySize: 49408, width: 768, intermediateSize: 3072, layers: 12,
                                             maxPositions: 77) == .sd15)
        #expect(Family.sd2.textEncoderConfig(vocabularySize: 49408, width: 1024, intermediateSize: 4096, layers: 23,
                                             maxPositions: 77) == .sd21)
    }

    @Test func modelSpecMetadataSettlesThePredictionType() throws {
        for (metadata, expected) in [
            (["modelspec.architecture": "stable-diffusion-v2-768-v"], "v_prediction"),
            (["modelspec.architecture": "stable-diffusion-v2-512"], "epsilon"),
            (["modelspec.architecture": "stable-diffusion-v2-768-v", "modelspec.prediction_type": "epsilon"],
             "epsilon"),
        ] {
            let url = try Self.copy("sd2-tiny", metadata: metadata)
            defer { try? FileManager.default.removeItem(at: url) }
            #expect(try SingleFileCheckpoint(url: url).predictionType == expected, "\(metadata)")
        }
    }

    /// Real checkpoints, when the environment names them (`IMAGINE_SINGLE_FILE_CHECKPOINTS`, paths
    /// separated by ':'): SD's own configs are inferred and every model loads. Reads gigabytes.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["IMAGINE_SINGLE_FILE_CHECKPOINTS"] != nil))
    func realCheckpointsGiveTheReferenceConfigs() throws {
        let paths = ProcessInfo.processInfo.environment["IMAGINE_SINGLE_FILE_CHECKPOINTS"] ?? ""
        var sdVAE = AutoencoderKLConfig()
        sdVAE.blockOutChannels = [128, 256, 512, 512]
        sdVAE.layersPerBlock = 2
        for path in paths.split(separator: ":") {
            let checkpoint = try SingleFileCheckpoint(url: URL(fileURLWithPath: String(path)))
            #expect(checkpoint.unetConfig == (checkpoint.family == .sd1 ? .sd15 : .sd21), "\(path)")
            #expect(checkpoint.textEncoderConfig == (checkpoint.family == .sd1 ? .sd15 : .sd21), "\(path)")
            #expect(checkpoint.vaeConfig == sdVAE, "\(path)")
            _ = try UNet2DConditionModel(Weights(checkpoint.unet), config: checkpoint.unetConfig)
            _ = try CLIPTextModel(Weights(checkpoint.textEncoder), config: checkpoint.textEncoderConfig)
            _ = try AutoencoderKL(Weights(checkpoint.vae), config: checkpoint.vaeConfig)
        }
    }

    // MARK: Same weights, same outputs

    @Test(arguments: ["sd1-tiny", "sd2-tiny"])
    func componentsHoldTheFolderTensorsBitwise(name: String) throws {
        let checkpoint = try Self.open(name)
        let components: [(String, any TensorStore)] = [
            ("unet", checkpoint.unet), ("vae", checkpoint.vae), ("text_encoder", checkpoint.textEncoder),
        ]
        for (component, store) in components {
            let folder = try ShardedStore(folder: Self.fixture(name).appendingPathComponent(component))
            #expect(store.keys == folder.keys, "\(name) \(component)")
            for key in folder.keys where store.contains(key) {
                #expect(store.shape(of: key) == folder.shape(of: key), "\(name) \(component) \(key)")
                #expect(try store.tensor(key) == folder.tensor(key), "\(name) \(component) \(key)")
            }
        }
    }

    @Test(arguments: ["sd1-tiny", "sd2-tiny"])
    func modelsComputeWhatTheFolderModelsCompute(name: String) throws {
        let checkpoint = try Self.open(name)
        let folder = Self.fixture(name)
        func pattern(_ shape: [Int], _ frequency: Float) -> Tensor {
            Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { sin(Float($0) * frequency) })
        }

        let folderUNet = try UNet2DConditionModel(folder: folder.appendingPathComponent("unet"))
        let unet = try UNet2DConditionModel(Weights(checkpoint.unet), config: folderUNet.config)
        let sample = pattern([1, 4, 8, 8], 0.37)
        let context = pattern([1, 5, checkpoint.unetConfig.crossAttentionDim], 0.11)
        #expect(try unet(sample, timestep: 500, context: context)
                == folderUNet(sample, timestep: 500, context: context))

        let folderText = try CLIPTextModel(folder: folder.appendingPathComponent("text_encoder"))
        let text = try CLIPTextModel(Weights(checkpoint.textEncoder), config: checkpoint.textEncoderConfig)
        let ids: [[Int32]] = [[0, 17, 345, 2, 1, 1, 1], [0, 499, 3, 250, 9, 2, 1]]
        let (output, reference) = (text(ids), folderText(ids))
        #expect(output.lastHiddenState == reference.lastHiddenState)
        #expect(output.pooled == reference.pooled)

        let folderVAE = try AutoencoderKL(folder: folder.appendingPathComponent("vae"))
        let vae = try AutoencoderKL(Weights(checkpoint.vae), config: folderVAE.config)
        let latents = pattern([1, 4, 4, 4], 0.29), image = pattern([1, 3, 8, 8], 0.13)
        #expect(try vae.decode(latents) == folderVAE.decode(latents))
        #expect(try vae.loadEncoder().encodeLatents(image) == folderVAE.loadEncoder().encodeLatents(image))
    }

    /// Files written by older transformers have no `text_model.` level in SD 1.x's text keys.
    @Test func clipKeysWithoutTheTextModelLevelAreRead() throws {
        let url = try Self.copy("sd1-tiny") {
            $0.replacingOccurrences(of: "cond_stage_model.transformer.text_model.",
                                    with: "cond_stage_model.transformer.")
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let old = try SingleFileCheckpoint(url: url), current = try Self.open("sd1-tiny")
        #expect(old.textEncoderConfig == current.textEncoderConfig)
        #expect(old.textEncoder.keys == current.textEncoder.keys)
        for key in current.textEncoder.keys {
            #expect(try old.textEncoder.tensor(key) == current.textEncoder.tensor(key), "\(key)")
        }
    }

    // MARK: Refusals

    @Test func anAbsentComponentIsNamed() throws {
        let url = try Self.copy("sd1-tiny") { $0.hasPrefix("first_stage_model.") ? nil : $0 }
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: SingleFileCheckpointError.self) { try SingleFileCheckpoint(url: url) }
        #expect(error?.problems == ["no VAE keys (first_stage_model.*)"])
    }

    @Test func missingKeysAreListed() throws {
        let source = try SafetensorsFile(url: Self.fixture("sd2-tiny.safetensors"))
        // Every decoder key but the ResNet shortcuts, which are listed only when present (whether a
        // block needs one follows from its channels, which the model checks).
        let decoder = source.tensorNames.filter {
            $0.hasPrefix("first_stage_model.decoder.") && !$0.contains("nin_shortcut")
        }
        let url = try Self.copy("sd2-tiny") { $0.hasPrefix("first_stage_model.decoder.") ? nil : $0 }
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: SingleFileCheckpointError.self) { try SingleFileCheckpoint(url: url) }
        let problems = error?.problems ?? []
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("VAE keys missing: first_stage_model.decoder.conv_in.weight, "
                                          + "first_stage_model.decoder.conv_in.bias, ") == true, "\(problems)")
        #expect(problems.first?.hasSuffix(", … (\(decoder.count - 10) more)") == true, "\(problems)")
    }

    @Test func anUnknownLayoutIsRefusedWithEveryGap() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("unknown-\(UUID()).safetensors")
        try SafetensorsWriter.write([("encoder.weight", Tensor(zeros: [4, 4])), ("decoder.bias", Tensor(zeros: [4]))],
                                    to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: SingleFileCheckpointError.self) { try SingleFileCheckpoint(url: url) }
        #expect(error?.problems == [
            "no U-Net keys (model.diffusion_model.*)",
            "no VAE keys (first_stage_model.*)",
            "no text encoder keys (cond_stage_model.transformer.* for SD 1.x, cond_stage_model.model.* for SD 2.x)",
        ])
        #expect(error.map { "\($0)" }?.hasPrefix(url.path + ": not a loadable SD 1.x/2.x checkpoint: no U-Net") == true)
    }

    // MARK: Helpers

    /// A temporary copy of the fixture `name` with its float tensors renamed by `rename` (nil drops
    /// one), stored as fp32. Integer buffers (position_ids, EMA counters) are left out.
    static func copy(_ name: String, renaming rename: (String) -> String?) throws -> URL {
        let source = try SafetensorsFile(url: fixture("\(name).safetensors"))
        let floats: Set<SafetensorsDType> = [.f16, .bf16, .f32]
        var tensors: [(name: String, tensor: Tensor)] = []
        for key in source.tensorNames where floats.contains(source.info(key)!.dtype) {
            if let renamed = rename(key) { tensors.append((renamed, try source.tensor(key))) }
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID()).safetensors")
        try SafetensorsWriter.write(tensors, to: url)
        return url
    }

    /// A temporary copy of the fixture `name`, byte for byte but for `metadata` in its header.
    static func copy(_ name: String, metadata: [String: String]) throws -> URL {
        let bytes = try Data(contentsOf: fixture("\(name).safetensors"))
        let headerLength = Int(UInt64(littleEndian: bytes.prefix(8).withUnsafeBytes {
            $0.loadUnaligned(as: UInt64.self)
        }))
        var header = try #require(try JSONSerialization.jsonObject(with: bytes.subdata(in: 8 ..< 8 + headerLength))
                                  as? [String: Any])
        header["__metadata__"] = metadata
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var length = UInt64(json.count).littleEndian
        var file = Data(bytes: &length, count: 8)
        file.append(json)
        file.append(bytes.subdata(in: 8 + headerLength ..< bytes.count))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID()).safetensors")
        try file.write(to: url)
        return url
    }
}
