import Foundation
import Kernels
@testable import Models
import Testing

/// SDXL LoRAs (kohya files with U-Net layers in LDM's names and both text encoders, PEFT files from
/// StableDiffusionXLPipeline.save_lora_weights) merged into the tiny SDXL model, against diffusers'
/// `load_lora_weights` + `fuse_lora` renders (Tests/Fixtures/make_sdxl_lora_fixtures.py).
@Suite struct SDXLLoRATests {
    struct Case: Decodable {
        let name: String, steps: Int, cfg: Float, seed: UInt64
        let loras: [[LoRATests.Case.LoRAEntry]]
        var references: [LoRAReference] {
            loras.map { pair in
                guard case .file(let file) = pair[0], case .strength(let strength) = pair[1] else { fatalError("bad case \(name)") }
                return LoRAReference(url: FixturePaths.url("lora-sdxl/\(file)"), strength: strength)
            }
        }
    }
    struct Cases: Decodable { let prompt: String; let cases: [Case] }

    static let cases = try! JSONDecoder().decode(
        Cases.self, from: Data(contentsOf: FixturePaths.url("lora-sdxl/expected/cases.json")))
    static let modelPath = FixturePaths.url("pipeline-sdxl/tiny-sdxl")
    static let kohya = FixturePaths.url("lora-sdxl/kohya-ldm.safetensors")
    static let peft = FixturePaths.url("lora-sdxl/peft.safetensors")

    static func request(_ name: String) throws -> GenerationRequest {
        let c = try #require(cases.cases.first { $0.name == name })
        var request = GenerationRequest(prompt: cases.prompt)
        request.seed = c.seed
        request.steps = c.steps
        request.guidanceScale = c.cfg
        request.width = 64
        request.height = 64
        request.sampler = .euler
        request.loras = c.references
        return request
    }

    static func expectedImage(_ name: String) throws -> Tensor {
        try SafetensorsFile(url: FixturePaths.url("lora-sdxl/expected/\(name).safetensors")).tensor("image")
    }

    @Test(arguments: cases.cases.map(\.name))
    func imageMatchesDiffusersFusedLoRA(name: String) throws {
        let pipeline = Pipeline(model: try DiffusionModel.load(path: Self.modelPath))
        let image = try pipeline.generate(try Self.request(name)).image
        let psnr = PipelineTests.psnr(image, try Self.expectedImage(name))
        #expect(psnr >= 40, "\(name): PSNR \(psnr) dB against diffusers")
        if name != "none" {
            // The LoRA must matter, or matching diffusers would prove nothing.
            let unchanged = PipelineTests.psnr(image, try Self.expectedImage("none"))
            #expect(unchanged < 30, "\(name): PSNR \(unchanged) dB to the picture without LoRAs")
        }
    }

    /// Switching LoRAs in one pipeline: every set renders as it does alone, and taking them all
    /// out restores all three models bit for bit.
    @Test func switchingAndRemovingLoRAsIsExact() throws {
        let pipeline = Pipeline(model: try DiffusionModel.load(path: Self.modelPath))
        let plain = try pipeline.generate(try Self.request("none")).image
        for name in ["kohya-ldm", "kohya-and-peft", "peft"] {
            let image = try pipeline.generate(try Self.request(name)).image
            #expect(PipelineTests.psnr(image, try Self.expectedImage(name)) >= 40, "\(name)")
        }
        #expect(pipeline.model.unetLoRAs.count == 1 && pipeline.model.textEncoderLoRAs.count == 1
                && pipeline.model.textEncoder2LoRAs.count == 1)
        let restored = try pipeline.generate(try Self.request("none")).image
        #expect(restored.data == plain.data)
        #expect(pipeline.model.unetLoRAs.isEmpty && pipeline.model.textEncoderLoRAs.isEmpty
                && pipeline.model.textEncoder2LoRAs.isEmpty)
    }

    /// A LoRA for the second encoder alone changes the prompt's encoding (so cached encodings are
    /// kept per second-encoder set too) and only the second encoder's half of the states; taking it
    /// out gives back the encoding as loaded.
    @Test func aSecondEncoderLoRAChangesItsEncodingAlone() throws {
        let source = try SafetensorsFile(url: Self.kohya)
        let url = try LoRATests.write(try source.tensorNames.filter { $0.hasPrefix("lora_te2_") }.map { ($0, try source.tensor($0)) })
        defer { try? FileManager.default.removeItem(at: url) }
        let pipeline = Pipeline(model: try DiffusionModel.load(path: Self.modelPath))
        let plain = try pipeline.encode(Self.cases.prompt)
        try pipeline.applyLoRAs([LoRAReference(url: url)])
        #expect(pipeline.model.textEncoder2LoRAs.count == 1 && pipeline.model.textEncoderLoRAs.isEmpty
                && pipeline.model.unetLoRAs.isEmpty)
        let adapted = try pipeline.encode(Self.cases.prompt)
        let width = adapted.states.shape[2], firstWidth = pipeline.model.textEncoderConfig.width
        let tokens = adapted.states.shape[1]
        func half(_ states: Tensor, first: Bool) -> [Float] {
            (0..<tokens).flatMap { t in
                Array(states.data[t * width ..< (t + 1) * width])[first ? 0..<firstWidth : firstWidth..<width]
            }
        }
        #expect(half(adapted.states, first: true) == half(plain.states, first: true))
        #expect(half(adapted.states, first: false) != half(plain.states, first: false))
        #expect(adapted.pooled?.data != plain.pooled?.data)
        try pipeline.applyLoRAs([])
        #expect(try pipeline.encode(Self.cases.prompt).states.data == plain.states.data)
    }

    /// Every module of both fixtures finds its layer in each model component, in the folder and in
    /// the single file (whose second encoder is stored the OpenCLIP way).
    @Test func everyModuleMatchesInFolderAndSingleFile() throws {
        for model in [Self.modelPath, FixturePaths.url("single-file/sdxl-tiny.safetensors")] {
            for lora in [Self.kohya, Self.peft] {
                let matches = try LoRAFile(url: lora).matches(modelAt: model)
                #expect(Set(matches.map(\.component)) == Set(LoRAComponent.allCases), "\(lora.lastPathComponent)")
                for match in matches {
                    #expect(match.matched > 0 && match.unmatched == 0,
                            "\(lora.lastPathComponent) on \(model.lastPathComponent): \(match)")
                }
            }
        }
    }

    /// kohya names U-Net layers by diffusers' paths or by LDM's; both find the same weight, on SD
    /// 1.x's layout and on SDXL's (with its label embedding).
    @Test(arguments: [
        ("pipeline/tiny-sd", [
            ("input_blocks_0_0", "conv_in"), ("time_embed_0", "time_embedding_linear_1"),
            ("input_blocks_1_0_in_layers_2", "down_blocks_0_resnets_0_conv1"),
            ("input_blocks_1_0_emb_layers_1", "down_blocks_0_resnets_0_time_emb_proj"),
            ("input_blocks_1_1_proj_in", "down_blocks_0_attentions_0_proj_in"),
            ("input_blocks_1_1_transformer_blocks_0_attn2_to_k", "down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"),
            ("input_blocks_2_0_op", "down_blocks_0_downsamplers_0_conv"),
            ("input_blocks_3_0_skip_connection", "down_blocks_1_resnets_0_conv_shortcut"),
            ("middle_block_1_transformer_blocks_0_ff_net_0_proj", "mid_block_attentions_0_transformer_blocks_0_ff_net_0_proj"),
            ("middle_block_2_out_layers_3", "mid_block_resnets_1_conv2"),
            ("output_blocks_1_1_conv", "up_blocks_0_upsamplers_0_conv"),
            ("output_blocks_3_1_transformer_blocks_0_attn1_to_out_0", "up_blocks_1_attentions_1_transformer_blocks_0_attn1_to_out_0"),
            ("out_2", "conv_out"),
        ]),
        ("pipeline-sdxl/tiny-sdxl", [
            ("label_emb_0_0", "add_embedding_linear_1"), ("label_emb_0_2", "add_embedding_linear_2"),
            ("input_blocks_3_0_op", "down_blocks_0_downsamplers_0_conv"),
            ("input_blocks_5_1_transformer_blocks_1_attn1_to_q", "down_blocks_1_attentions_1_transformer_blocks_1_attn1_to_q"),
            ("middle_block_1_proj_out", "mid_block_attentions_0_proj_out"),
            ("output_blocks_2_2_conv", "up_blocks_0_upsamplers_0_conv"),
            ("output_blocks_5_0_skip_connection", "up_blocks_1_resnets_2_conv_shortcut"),
        ]),
    ])
    func ldmAndDiffusersNamesFindTheSameLayer(model: String, pairs: [(String, String)]) throws {
        let unet = FixturePaths.url(model).appendingPathComponent("unet")
        let store = try ShardedStore(folder: unet)
        let targets = LoRATargets(keys: store.keys, unetConfig: try UNetConfig(contentsOf: unet.appendingPathComponent("config.json")))
        for (ldm, diffusers) in pairs {
            let key = targets.weightKey(for: .flattened(diffusers))
            #expect(key != nil, "\(diffusers)")
            #expect(targets.weightKey(for: .flattened(ldm)) == key, "\(ldm)")
        }
    }

    @Test func aSecondEncoderLoRAIsRefusedOnAModelWithOne() throws {
        let key = "lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight"
        let url = try LoRATests.write([(key, Tensor(zeros: [2, 32])),
                                       ("lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight", Tensor(zeros: [32, 2]))])
        defer { try? FileManager.default.removeItem(at: url) }
        let pipeline = Pipeline(model: try DiffusionModel.load(path: FixturePaths.url("pipeline/tiny-sd")))
        var request = GenerationRequest(prompt: "apple")
        request.loras = [LoRAReference(url: url)]
        #expect { try pipeline.validate(request) } throws: {
            let text = "\($0)"
            return text.contains(url.path) && text.contains(key) && text.contains("second text encoder")
        }
    }

    @Test func anLDMNameThatMatchesNoLayerIsNamed() throws {
        let stem = "lora_unet_input_blocks_9_1_proj_in"
        let url = try LoRATests.write([
            ("lora_unet_input_blocks_4_1_proj_in.lora_down.weight", Tensor(zeros: [2, 32])),
            ("lora_unet_input_blocks_4_1_proj_in.lora_up.weight", Tensor(zeros: [32, 2])),
            (stem + ".lora_down.weight", Tensor(zeros: [2, 32])), (stem + ".lora_up.weight", Tensor(zeros: [32, 2])),
        ])
        defer { try? FileManager.default.removeItem(at: url) }
        let pipeline = Pipeline(model: try DiffusionModel.load(path: Self.modelPath))
        var request = GenerationRequest(prompt: "apple")
        request.loras = [LoRAReference(url: url)]
        #expect { try pipeline.validate(request) } throws: {
            let text = "\($0)"
            return text.contains(url.path) && text.contains(stem + ".lora_down.weight") && text.contains("matches no layer")
        }
        let matches = try LoRAFile(url: url).matches(modelAt: Self.modelPath)
        #expect(matches == [LoRAMatch(component: .unet, matched: 1, unmatched: 1, firstUnmatched: stem + ".lora_down.weight")])
    }
}
