import Foundation
import Kernels
@testable import Models
import Testing

/// LoRA files in the kohya, PEFT and older diffusers layouts merged into the tiny pipeline model,
/// against diffusers' `load_lora_weights` + `fuse_lora` renders (Tests/Fixtures/make_lora_fixtures.py).
@Suite struct LoRATests {
    struct Case: Decodable {
        let name: String, sampler: String, steps: Int, cfg: Float, seed: UInt64
        let loras: [[LoRAEntry]]
        /// `["kohya.safetensors", 0.8]` in the JSON.
        enum LoRAEntry: Decodable {
            case file(String), strength(Float)
            init(from decoder: any Decoder) throws {
                let value = try decoder.singleValueContainer()
                if let text = try? value.decode(String.self) { self = .file(text) } else { self = .strength(try value.decode(Float.self)) }
            }
        }
        var references: [LoRAReference] {
            loras.map { pair in
                guard case .file(let file) = pair[0], case .strength(let strength) = pair[1] else { fatalError("bad case \(name)") }
                return LoRAReference(url: FixturePaths.url("lora/\(file)"), strength: strength)
            }
        }
    }
    struct Cases: Decodable { let prompt: String; let cases: [Case] }

    static let cases = try! JSONDecoder().decode(
        Cases.self, from: Data(contentsOf: FixturePaths.url("lora/expected/cases.json")))

    static func request(_ c: Case) throws -> GenerationRequest {
        var request = GenerationRequest(prompt: cases.prompt)
        request.seed = c.seed
        request.steps = c.steps
        request.guidanceScale = c.cfg
        request.width = 64
        request.height = 64
        request.sampler = try #require(SamplerKind(rawValue: c.sampler))
        request.loras = c.references
        return request
    }

    static func expectedImage(_ name: String) throws -> Tensor {
        try SafetensorsFile(url: FixturePaths.url("lora/expected/\(name).safetensors")).tensor("image")
    }

    @Test(arguments: cases.cases.map(\.name))
    func imageMatchesDiffusersFusedLoRA(name: String) throws {
        let c = Self.cases.cases.first { $0.name == name }!
        let pipeline = Pipeline(model: try DiffusionModel.load(path: FixturePaths.url("pipeline/tiny-sd")))
        let image = try pipeline.generate(try Self.request(c)).image
        let psnr = PipelineTests.psnr(image, try Self.expectedImage(name))
        #expect(psnr >= 40, "\(name): PSNR \(psnr) dB against diffusers")
        if name != "none" {
            // The LoRA must matter, or matching diffusers would prove nothing.
            let unchanged = PipelineTests.psnr(image, try Self.expectedImage("none"))
            #expect(unchanged < 30, "\(name): PSNR \(unchanged) dB to the picture without LoRAs")
        }
    }

    /// Switching LoRAs in one pipeline (the live preview's way): every set renders as it does
    /// alone, and taking them all out restores the model bit for bit.
    @Test func switchingAndRemovingLoRAsIsExact() throws {
        let pipeline = Pipeline(model: try DiffusionModel.load(path: FixturePaths.url("pipeline/tiny-sd")))
        let byName = Dictionary(uniqueKeysWithValues: Self.cases.cases.map { ($0.name, $0) })
        let plain = try pipeline.generate(try Self.request(byName["none"]!)).image
        for name in ["kohya", "kohya-and-peft", "peft"] {
            let image = try pipeline.generate(try Self.request(byName[name]!)).image
            #expect(PipelineTests.psnr(image, try Self.expectedImage(name)) >= 40, "\(name)")
        }
        #expect(pipeline.model.unetLoRAs.count == 1 && pipeline.model.textEncoderLoRAs.count == 1)
        let restored = try pipeline.generate(try Self.request(byName["none"]!)).image
        #expect(restored.data == plain.data)
        #expect(pipeline.model.unetLoRAs.isEmpty && pipeline.model.textEncoderLoRAs.isEmpty)
    }

    /// A batch encodes every prompt under its own LoRAs before the text encoder is freed: the
    /// pictures equal those of a pipeline that keeps its text encoder.
    @Test func aBatchEncodesEachPromptUnderItsOwnLoRAs() throws {
        let byName = Dictionary(uniqueKeysWithValues: Self.cases.cases.map { ($0.name, $0) })
        let requests = try ["kohya", "none", "peft"].map { try Self.request(byName[$0]!) }
        let batch = Pipeline(model: try DiffusionModel.load(path: FixturePaths.url("pipeline/tiny-sd")))
        #expect(try batch.encodeAllThenReleaseTextEncoder(for: requests))
        #expect(batch.model.textEncoder == nil)
        for (request, name) in zip(requests, ["kohya", "none", "peft"]) {
            let image = try batch.generate(request).image
            #expect(PipelineTests.psnr(image, try Self.expectedImage(name)) >= 40, "\(name)")
        }
    }

    /// SD 2's single files store the text encoder's q, k and v fused (OpenCLIP's in_proj) and name
    /// everything the LDM way; a LoRA must change the same weights there as in the folder.
    @Test func aLoRAChangesASingleFileAsItChangesItsFolder() throws {
        let checkpoint = try SingleFileCheckpoint(url: FixturePaths.url("single-file/sd2-tiny.safetensors"))
        let folder = FixturePaths.url("single-file/sd2-tiny")
        let stores: [(LoRAComponent, single: any TensorStore, folder: any TensorStore, module: String)] = [
            (.textEncoder, checkpoint.textEncoder, try ShardedStore(folder: folder.appendingPathComponent("text_encoder")),
             "encoder.layers.0.self_attn.q_proj"),
            (.unet, checkpoint.unet, try ShardedStore(folder: folder.appendingPathComponent("unet")),
             "down_blocks.0.attentions.0.proj_in"),
        ]
        var generator = SplitMix64(seed: 5)
        func random(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -0.5..<0.5, using: &generator) })
        }
        var tensors: [(String, Tensor)] = []
        for (component, _, store, module) in stores {
            let key = try #require(store.keys.first { $0.hasSuffix(module + ".weight") })
            let shape = try #require(store.shape(of: key))
            let stem = (component == .unet ? "lora_unet_" : "lora_te_text_model_") + module.replacingOccurrences(of: ".", with: "_")
            tensors += [(stem + ".lora_down.weight", random([2, shape[1]])), (stem + ".lora_up.weight", random([shape[0], 2])),
                        (stem + ".alpha", Tensor(shape: [], data: [1]))]
        }
        let url = try Self.write(tensors)
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try LoRAFile(url: url)
        for (component, single, folderStore, module) in stores {
            func merged(_ store: any TensorStore) throws -> (Tensor, Tensor) {
                let key = try #require(store.keys.first { $0.hasSuffix(module + ".weight") })
                let lora = LoRAMergedStore(base: store, deltas: try file.deltas(for: component, in: store, strength: 0.7))
                return (try lora.tensor(key), try store.tensor(key))
            }
            let (fromSingle, singleBase) = try merged(single), (fromFolder, _) = try merged(folderStore)
            #expect(fromSingle.data == fromFolder.data, "\(component)")
            #expect(fromSingle.data != singleBase.data, "\(component): the LoRA changed nothing")
        }
    }

    @Test func layoutsAreRecognisedWithTheirScales() throws {
        let kohya = try LoRAFile(url: FixturePaths.url("lora/kohya.safetensors"))
        #expect(kohya.format == .kohya)
        #expect(kohya.modules.contains { $0.component == .textEncoder })
        // LoCon: a 3×3 down convolution on a resnet.
        #expect(kohya.modules.contains { $0.downShape.count == 4 && $0.downShape[2] == 3 })
        let rank4 = try #require(kohya.modules.first { $0.component == .unet && $0.rank == 4 })
        #expect(rank4.scale == 1.5 / 4)
        let peft = try LoRAFile(url: FixturePaths.url("lora/peft.safetensors"))
        #expect(peft.format == .peft)
        #expect(peft.modules.allSatisfy { $0.scale == ($0.component == .unet ? 3.0 / 2 : 6.0 / 3) })
        let old = try LoRAFile(url: FixturePaths.url("lora/diffusers-old.safetensors"))
        #expect(old.format == .diffusers)
        #expect(old.modules.allSatisfy { $0.scale == 1 })
        #expect(old.modules.contains { $0.name == .path("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0") })
        #expect(old.modules.contains { $0.name == .path("encoder.layers.0.self_attn.q_proj") })
    }

    /// A1111's "addnet" short hash, checked against Python's hashlib over the same bytes.
    @Test func shortHashesAreA1111s() throws {
        #expect(try LoRAFile(url: FixturePaths.url("lora/kohya.safetensors")).shortHash == "362051d3552e")
        #expect(try LoRAFile(url: FixturePaths.url("lora/peft.safetensors")).shortHash == "c9d280a013ab")
    }

    @Test func sha256MatchesTheStandardsVectors() {
        func digest(_ text: String) -> String { Array(text.utf8).withUnsafeBytes { SHA256.hex($0) } }
        #expect(digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(digest(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    // MARK: - Bad files

    static func write(_ tensors: [(String, Tensor)]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(UUID()).safetensors")
        try SafetensorsWriter.write(tensors.map { (name: $0.0, tensor: $0.1) }, to: url)
        return url
    }

    @Test func aModuleThatMatchesNoLayerIsNamed() throws {
        let url = try Self.write([
            ("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", Tensor(zeros: [2, 16])),
            ("lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight", Tensor(zeros: [16, 2])),
            ("lora_unet_down_blocks_7_nonsense.lora_down.weight", Tensor(zeros: [2, 16])),
            ("lora_unet_down_blocks_7_nonsense.lora_up.weight", Tensor(zeros: [16, 2])),
        ])
        defer { try? FileManager.default.removeItem(at: url) }
        let pipeline = Pipeline(model: try DiffusionModel.load(path: FixturePaths.url("pipeline/tiny-sd")))
        var request = GenerationRequest(prompt: "apple")
        request.loras = [LoRAReference(url: url)]
        #expect { try pipeline.validate(request) } throws: {
            let text = "\($0)"
            return text.contains(url.path) && text.contains("lora_unet_down_blocks_7_nonsense.lora_down.weight")
                && text.contains("matches no layer")
        }
        let file = try LoRAFile(url: url)
        let count = file.matchCount(for: .unet, in: pipeline.model.unetWeights.store)
        #expect(count.matched == 1 && count.unmatched == 1)
    }

    @Test func aShapeThatDoesNotFitIsRefused() throws {
        let url = try Self.write([
            ("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", Tensor(zeros: [2, 5])),
            ("lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight", Tensor(zeros: [16, 2])),
        ])
        defer { try? FileManager.default.removeItem(at: url) }
        let pipeline = Pipeline(model: try DiffusionModel.load(path: FixturePaths.url("pipeline/tiny-sd")))
        var request = GenerationRequest(prompt: "apple")
        request.loras = [LoRAReference(url: url)]
        #expect { try pipeline.validate(request) } throws: { "\($0)".contains("changes a [16, 5] weight") }
    }

    @Test func otherAdapterKindsAreRefusedByName() throws {
        let loha = try Self.write([("lora_unet_x.hada_w1_a", Tensor(zeros: [2, 2]))])
        let notLoRA = try Self.write([("model.diffusion_model.out.2.weight", Tensor(zeros: [2, 2]))])
        defer { for url in [loha, notLoRA] { try? FileManager.default.removeItem(at: url) } }
        #expect { try LoRAFile(url: loha) } throws: { "\($0)".contains("LoHa") }
        #expect { try LoRAFile(url: notLoRA) } throws: { "\($0)".contains("no LoRA weights found") }
        #expect { try LoRAFile(url: URL(fileURLWithPath: "/nonexistent/x.safetensors")) } throws: {
            "\($0)".contains("/nonexistent/x.safetensors")
        }
    }

    // MARK: - Prompt tags

    @Test func tagsAreTakenOutOfTheTextAndResolvedInTheFolder() throws {
        let folder = FixturePaths.url("lora")
        let prompt = "a red apple <lora:kohya:0.8>, on a table <lora:peft:-0.5><lora:diffusers-old>"
        #expect(PromptLoRATags.removing(from: prompt) == "a red apple , on a table ")
        let references = try PromptLoRATags.references(in: prompt, directory: folder)
        #expect(references.map(\.name) == ["kohya", "peft", "diffusers-old"])
        #expect(references.map(\.strength) == [0.8, -0.5, 1])
        #expect(try PromptLoRATags.references(in: "no tags, <not a tag>", directory: nil).isEmpty)
        #expect { try PromptLoRATags.references(in: "<lora:kohya>", directory: nil) } throws: { "\($0)".contains("--lora-dir") }
        #expect { try PromptLoRATags.references(in: "<lora:missing:1>", directory: folder) } throws: {
            "\($0)".contains("no missing.safetensors")
        }
        #expect { try PromptLoRATags.references(in: "<lora:kohya:lots>", directory: folder) } throws: {
            "\($0)".contains("must be a number")
        }
        #expect { try PromptLoRATags.references(in: "<hypernet:x:1>", directory: folder) } throws: {
            "\($0)".contains("only <lora:")
        }
    }

    /// The tags change the model, not the text: a tagged prompt encodes as the untagged one.
    @Test func tagsAreNotEncoded() throws {
        let pipeline = Pipeline(model: try DiffusionModel.load(path: FixturePaths.url("pipeline/tiny-sd")))
        let tagged = try pipeline.encode("a red apple<lora:kohya:0.8>").states
        #expect(tagged.data == (try pipeline.encode("a red apple").states.data))
    }
}
