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
        // SDXL base 1.0: heads [5, 10, 20]; text_encoder is SD 1.x's CLIP ViT-L, text_encoder_2 bigG.
        #expect(Family.sdxl.unetHeads(blockOutChannels: [320, 640, 1280]) == [5, 10, 20])
        #expect(Family.sdxl.textEncoderConfig(vocabularySize: 49408, width: 768, intermediateSize: 3072, layers: 12,
                                              maxPositions: 77) == .sd15)
        #expect(Family.sdxl.textEncoder2Config(vocabularySize: 49408, width: 1280, intermediateSize: 5120, layers: 32,
                                               maxPositions: 77, projectionDim: 1280) == .sdxlBigG)
        #expect(Family.sd2.textEncoder2Config(vocabularySize: 49408, width: 1280, intermediateSize: 5120, layers: 32,
                                              maxPositions: 77, projectionDim: 1280) == nil)
        #expect([Family.sd1, .sd2, .sdxl].map(\.vaeScalingFactor) == [0.18215, 0.18215, 0.13025])
        #expect([Family.sd1, .sd2, .sdxl].map(\.unetSampleSize) == [64, 96, 128])
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
    /// separated by ':'; SD 1.x, SD 2.x, SDXL base): the released configs are inferred and every
    /// model loads. Reads gigabytes.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["IMAGINE_SINGLE_FILE_CHECKPOINTS"] != nil))
    func realCheckpointsGiveTheReferenceConfigs() throws {
        let paths = ProcessInfo.processInfo.environment["IMAGINE_SINGLE_FILE_CHECKPOINTS"] ?? ""
        var sdVAE = AutoencoderKLConfig()
        sdVAE.blockOutChannels = [128, 256, 512, 512]
        sdVAE.layersPerBlock = 2
        var sdxlVAE = sdVAE
        sdxlVAE.scalingFactor = 0.13025
        // stable-diffusion-xl-base-1.0/unet/config.json.
        var sdxl = UNetConfig()
        sdxl.blockOutChannels = [320, 640, 1280]
        sdxl.layersPerBlock = [2, 2, 2]
        sdxl.downBlocks = [.plain, .crossAttention, .crossAttention]
        sdxl.upBlocks = [.crossAttention, .crossAttention, .plain]
        sdxl.transformerDepth = [[1, 1], [2, 2], [10, 10]]
        sdxl.upTransformerDepth = [[10, 10, 10], [2, 2, 2], [1, 1, 1]]
        sdxl.midTransformerDepth = 10
        sdxl.onlyCrossAttention = [false, false, false]
        sdxl.crossAttentionDim = 2048
        sdxl.heads = [5, 10, 20]
        sdxl.useLinearProjection = true
        sdxl.textTimeEmbedding = .init(timeIDWidth: 256, inputWidth: 2816)
        sdxl.sampleSize = 128
        for path in paths.split(separator: ":") {
            let checkpoint = try SingleFileCheckpoint(url: URL(fileURLWithPath: String(path)))
            let family = checkpoint.family
            #expect(checkpoint.unetConfig == [.sd1: .sd15, .sd2: .sd21, .sdxl: sdxl][family], "\(path)")
            #expect(checkpoint.textEncoderConfig == (family == .sd2 ? .sd21 : .sd15), "\(path)")
            #expect(checkpoint.textEncoder2Config == (family == .sdxl ? .sdxlBigG : nil), "\(path)")
            #expect(checkpoint.vaeConfig == (family == .sdxl ? sdxlVAE : sdVAE), "\(path)")
            _ = try UNet2DConditionModel(Weights(checkpoint.unet), config: checkpoint.unetConfig)
            _ = try CLIPTextModel(Weights(checkpoint.textEncoder), config: checkpoint.textEncoderConfig)
            if let store = checkpoint.textEncoder2, let config = checkpoint.textEncoder2Config {
                _ = try CLIPTextModel(Weights(store), config: config)
            }
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

    // MARK: SDXL

    /// make_single_file_fixtures.py writes sdxl-tiny.safetensors (fp16, sgm's layout) from this fp32
    /// folder, and checks it with diffusers' `StableDiffusionXLPipeline.from_single_file`.
    static let sdxlFolder = FixturePaths.url("pipeline-sdxl/tiny-sdxl")

    static func sdxlComponents(_ checkpoint: SingleFileCheckpoint) throws -> [(String, any TensorStore)] {
        [("unet", checkpoint.unet), ("vae", checkpoint.vae), ("text_encoder", checkpoint.textEncoder),
         ("text_encoder_2", try #require(checkpoint.textEncoder2))]
    }

    @Test func sdxlComponentsHoldTheFolderTensors() throws {
        let checkpoint = try Self.open("sdxl-tiny")
        for (component, store) in try Self.sdxlComponents(checkpoint) {
            let folder = try FP16Rounded(ShardedStore(folder: Self.sdxlFolder.appendingPathComponent(component)))
            #expect(store.keys == folder.keys, "\(component)")
            for key in folder.keys where store.contains(key) {
                #expect(store.shape(of: key) == folder.shape(of: key), "\(component) \(key)")
                #expect(try store.tensor(key) == folder.tensor(key), "\(component) \(key)")
            }
        }
    }

    @Test func sdxlFamilyAndConfigsMatchTheFolder() throws {
        let checkpoint = try Self.open("sdxl-tiny")
        let folder = Self.sdxlFolder
        #expect(checkpoint.family == .sdxl)
        #expect(checkpoint.predictionType == "epsilon")

        // What the weights cannot show comes from the family: 32 GroupNorm groups (the tiny model
        // uses 4), 64-wide heads (its heads are narrower; `familyRulesGiveTheReferenceConfigs`
        // checks the rule at SDXL's sizes), the 1024-pixel sample size.
        let unet = try UNetConfig(contentsOf: folder.appendingPathComponent("unet/config.json"))
        var inferredUNet = checkpoint.unetConfig
        #expect(inferredUNet.normGroups == 32)
        #expect(inferredUNet.heads == Family.sdxl.unetHeads(blockOutChannels: inferredUNet.blockOutChannels))
        #expect(inferredUNet.sampleSize == 128)
        inferredUNet.normGroups = unet.normGroups
        inferredUNet.heads = unet.heads
        inferredUNet.sampleSize = unet.sampleSize
        // The fields SDXL adds, one by one for a readable failure, then everything.
        #expect(inferredUNet.layersPerBlock == unet.layersPerBlock)
        #expect(inferredUNet.transformerDepth == unet.transformerDepth)
        #expect(inferredUNet.upTransformerDepth == unet.upTransformerDepth)
        #expect(inferredUNet.midBlock == unet.midBlock)
        #expect(inferredUNet.midTransformerDepth == unet.midTransformerDepth)
        #expect(inferredUNet.textTimeEmbedding == unet.textTimeEmbedding)
        #expect(inferredUNet.crossAttentionDim == unet.crossAttentionDim)
        #expect(inferredUNet == unet)

        for (inferred, name) in [(checkpoint.textEncoderConfig, "text_encoder"),
                                 (try #require(checkpoint.textEncoder2Config), "text_encoder_2")] {
            let reference = try CLIPTextConfig(contentsOf: folder.appendingPathComponent("\(name)/config.json"))
            var text = inferred
            #expect(text.heads == text.width / 64, "\(name)")
            text.heads = reference.heads
            #expect(text == reference, "\(name)")
        }
        #expect(checkpoint.textEncoderConfig.projectionDim == nil)
        #expect(checkpoint.textEncoder2Config?.projectionDim == 24)

        let vae = try AutoencoderKLConfig(contentsOf: folder.appendingPathComponent("vae/config.json"))
        var inferredVAE = checkpoint.vaeConfig
        #expect(inferredVAE.scalingFactor == 0.13025)
        #expect(inferredVAE.normGroups == 32)
        inferredVAE.normGroups = vae.normGroups
        #expect(inferredVAE == vae)
    }

    /// The models built from the file compute what the folder's compute with the same (fp16-rounded)
    /// weights: the configs fit the weights, SDXL's size embedding and the projection included.
    @Test func sdxlModelsComputeWhatTheFolderModelsCompute() throws {
        let checkpoint = try Self.open("sdxl-tiny")
        func folder(_ component: String) throws -> Weights {
            Weights(try FP16Rounded(ShardedStore(folder: Self.sdxlFolder.appendingPathComponent(component))))
        }
        func config<Config>(_ component: String, _ read: (URL) throws -> Config) throws -> Config {
            try read(Self.sdxlFolder.appendingPathComponent("\(component)/config.json"))
        }
        func pattern(_ shape: [Int], _ frequency: Float) -> Tensor {
            Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { sin(Float($0) * frequency) })
        }

        let ids: [[Int32]] = [[0, 17, 345, 2, 1, 1, 1]]
        var textConfig = checkpoint.textEncoderConfig, text2Config = try #require(checkpoint.textEncoder2Config)
        textConfig.heads = try config("text_encoder", CLIPTextConfig.init(contentsOf:)).heads
        text2Config.heads = try config("text_encoder_2", CLIPTextConfig.init(contentsOf:)).heads
        let text = try CLIPTextModel(Weights(checkpoint.textEncoder), config: textConfig)(ids)
        let folderText = try CLIPTextModel(folder("text_encoder"), config: textConfig)(ids)
        #expect(text.lastHiddenState == folderText.lastHiddenState)
        let text2 = try CLIPTextModel(Weights(try #require(checkpoint.textEncoder2)), config: text2Config)(ids)
        let folderText2 = try CLIPTextModel(folder("text_encoder_2"), config: text2Config)(ids)
        #expect(text2.hiddenStates == folderText2.hiddenStates)
        #expect(text2.textEmbeds != nil && text2.textEmbeds == folderText2.textEmbeds)

        var unetConfig = checkpoint.unetConfig
        unetConfig.heads = try config("unet", UNetConfig.init(contentsOf:)).heads
        unetConfig.normGroups = 4
        let sample = pattern([1, 4, 8, 8], 0.37), context = pattern([1, 5, unetConfig.crossAttentionDim], 0.11)
        let textTime = TextTimeCondition(pooled: pattern([1, 24], 0.23), timeIDs: [[64, 64, 0, 0, 64, 64]])
        let unet = try UNet2DConditionModel(Weights(checkpoint.unet), config: unetConfig)
        let folderUNet = try UNet2DConditionModel(folder("unet"), config: unetConfig)
        #expect(try unet(sample, timestep: 500, context: context, textTime: textTime)
                == folderUNet(sample, timestep: 500, context: context, textTime: textTime))

        var vaeConfig = checkpoint.vaeConfig
        vaeConfig.normGroups = 4
        let latents = pattern([1, 4, 2, 2], 0.29)
        #expect(try AutoencoderKL(Weights(checkpoint.vae), config: vaeConfig).decode(latents)
                == AutoencoderKL(folder("vae"), config: vaeConfig).decode(latents))
    }

    /// SSD-1B's and Vega's shapes, cut out of the tiny SDXL: a one-ResNet mid block and transformer
    /// depths that differ between the ResNets of a level; and BK-SDM's: no mid block at all.
    @Test func distilledSDXLShapesAreInferredPerBlock() throws {
        let folderConfig = try UNetConfig(contentsOf: Self.sdxlFolder.appendingPathComponent("unet/config.json"))
        let deeper = ["input_blocks.5.1.transformer_blocks.1.", "output_blocks.1.1.transformer_blocks.1."]
        for (dropped, midBlock) in [(["middle_block.1.", "middle_block.2."], UNetConfig.MidBlock.resnet),
                                    (["middle_block."], nil)] {
            let url = try Self.copy("sdxl-tiny") { key in
                (dropped + deeper).contains { key.hasPrefix("model.diffusion_model." + $0) } ? nil : key
            }
            defer { try? FileManager.default.removeItem(at: url) }
            let checkpoint = try SingleFileCheckpoint(url: url)
            var expected = folderConfig
            expected.midBlock = midBlock
            expected.transformerDepth = [[1, 1], [2, 1]]
            expected.upTransformerDepth = [[2, 1, 2], [1, 1, 1]]
            var inferred = checkpoint.unetConfig
            inferred.normGroups = folderConfig.normGroups
            inferred.heads = folderConfig.heads
            inferred.sampleSize = folderConfig.sampleSize
            #expect(inferred == expected, "\(dropped)")

            // The model finds every weight it reads under the mapped names, at the shapes it expects.
            let unet = try UNet2DConditionModel(Weights(checkpoint.unet), config: inferred)
            let sample = Tensor(shape: [1, 4, 8, 8], data: (0..<256).map { sin(Float($0)) })
            let context = Tensor(shape: [1, 3, 80], data: (0..<240).map { cos(Float($0)) })
            let textTime = TextTimeCondition(pooled: Tensor(zeros: [1, 24]), timeIDs: [[64, 64, 0, 0, 64, 64]])
            #expect(try unet(sample, timestep: 10, context: context, textTime: textTime).shape == [1, 4, 8, 8])
        }
    }

    /// SDXL's text keys may lack the `text_model.` level too, as SD 1.x's do.
    @Test func sdxlCLIPKeysWithoutTheTextModelLevelAreRead() throws {
        let url = try Self.copy("sdxl-tiny") {
            $0.replacingOccurrences(of: "conditioner.embedders.0.transformer.text_model.",
                                    with: "conditioner.embedders.0.transformer.")
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let old = try SingleFileCheckpoint(url: url), current = try Self.open("sdxl-tiny")
        #expect(old.textEncoderConfig == current.textEncoderConfig)
        #expect(old.textEncoder.keys == current.textEncoder.keys)
    }

    /// The refiner conditions on OpenCLIP ViT-bigG alone, as embedder 0, with a U-Net this loader
    /// does not map: refused by name.
    @Test func anSDXLRefinerIsRefusedByName() throws {
        let url = try Self.copy("sdxl-tiny") { key in
            if key.hasPrefix("conditioner.embedders.0.") { return nil }
            return key.replacingOccurrences(of: "conditioner.embedders.1.", with: "conditioner.embedders.0.")
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: SingleFileCheckpointError.self) { try SingleFileCheckpoint(url: url) }
        #expect(error?.problems == [
            "an SDXL refiner (one text encoder, OpenCLIP ViT-bigG at conditioner.embedders.0.model.*) is not "
                + "supported, only SDXL base models (CLIP ViT-L at conditioner.embedders.0.transformer.* and "
                + "OpenCLIP ViT-bigG at conditioner.embedders.1.model.*)",
        ])
        #expect(error.map { "\($0)" }?.contains("not a loadable SD 1.x, 2.x or SDXL checkpoint: an SDXL refiner")
                == true)
    }

    @Test func anSDXLFileWithoutItsSecondTextEncoderSaysSo() throws {
        let url = try Self.copy("sdxl-tiny") { $0.hasPrefix("conditioner.embedders.1.") ? nil : $0 }
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: SingleFileCheckpointError.self) { try SingleFileCheckpoint(url: url) }
        #expect(error?.problems == ["no text encoder 2 keys (conditioner.embedders.1.model.*)"])
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
            "no text encoder keys (cond_stage_model.transformer.* for SD 1.x, cond_stage_model.model.* for SD 2.x, "
                + "conditioner.embedders.* for SDXL)",
        ])
        #expect(error.map { "\($0)" }?.hasPrefix(url.path + ": not a loadable SD 1.x, 2.x or SDXL checkpoint: no U-Net")
                == true)
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

    /// A store's tensors rounded to fp16, as a file written in fp16 from them holds them.
    struct FP16Rounded: TensorStore {
        let store: any TensorStore
        init(_ store: any TensorStore) { self.store = store }
        var keys: [String] { store.keys }
        var origin: String { store.origin }
        func contains(_ key: String) -> Bool { store.contains(key) }
        func shape(of key: String) -> [Int]? { store.shape(of: key) }
        func tensor(_ key: String) throws -> Tensor {
            let tensor = try store.tensor(key)
            return Tensor(shape: tensor.shape, data: tensor.data.map { Float(Float16($0)) })
        }
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
