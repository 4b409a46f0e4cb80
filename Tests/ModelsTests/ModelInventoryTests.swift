import Foundation
import Kernels
@testable import Models
import Testing

/// `imagine inspect` and the loaders share one reading of a model path.
@Suite struct ModelInventoryTests {
    /// A folder carrying both precisions is counted once, as the file the loader reads.
    @Test func anFP16VariantBesideTheFullFileIsNotCountedTwice() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("inventory-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = FixturePaths.url("pipeline/tiny-sd/text_encoder")
        for name in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name),
                                             to: folder.appendingPathComponent(name))
        }
        try FileManager.default.copyItem(at: source.appendingPathComponent("model.safetensors"),
                                         to: folder.appendingPathComponent("model.fp16.safetensors"))

        let alone = try ModelInventory(path: source)
        let inventory = try ModelInventory(path: folder)
        let component = try #require(inventory.components.first)
        #expect(component.files.map(\.lastPathComponent) == ["model.safetensors"])
        #expect(component.parameterCount == alone.components.first?.parameterCount)
        #expect(try ShardedStore(folder: folder).origin == folder.appendingPathComponent("model.safetensors").path)
    }

    @Test(arguments: [("sd1-tiny", ModelFamily.sd1), ("sd2-tiny", ModelFamily.sd2), ("sdxl-tiny", ModelFamily.sdxl)])
    func singleFilesAreRecognisedAsTheLoaderReadsThem(name: String, family: ModelFamily) throws {
        let url = FixturePaths.url("single-file/\(name).safetensors")
        let inventory = try ModelInventory(path: url)
        #expect(inventory.family == family)
        #expect(inventory.family == (try SingleFileCheckpoint(url: url)).family)
        #expect(inventory.components.first?.description?.hasPrefix("\(family.rawValue) single-file checkpoint") == true)
    }

    @Test func anSDXLSingleFileNamesBothTextEncoders() throws {
        let inventory = try ModelInventory(path: FixturePaths.url("single-file/sdxl-tiny.safetensors"))
        #expect(inventory.components.first?.description == "SDXL single-file checkpoint (cross-attention 80; "
                + "text encoders: CLIP ViT-L/14 text, width 32; OpenCLIP ViT-bigG/14 text with projection, width 48)")
    }

    /// An SDXL folder at SDXL's widths (configs and stand-in weights): its CLIP ViT-L text_encoder
    /// alone reads as SD 1.x's, the folder as SDXL.
    @Test func anSDXLFolderIsSDXL() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("inventory-sdxl-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let components: [(name: String, className: String, config: String)] = [
            ("text_encoder", "CLIPTextModel", #"{"architectures": ["CLIPTextModel"], "hidden_size": 768}"#),
            ("text_encoder_2", "CLIPTextModelWithProjection",
             #"{"architectures": ["CLIPTextModelWithProjection"], "hidden_size": 1280}"#),
            ("unet", "UNet2DConditionModel", #"{"_class_name": "UNet2DConditionModel", "cross_attention_dim": 2048}"#),
        ]
        for component in components {
            let directory = folder.appendingPathComponent(component.name)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(component.config.utf8).write(to: directory.appendingPathComponent("config.json"))
            try SafetensorsWriter.write([("weight", Tensor(zeros: [2]))],
                                        to: directory.appendingPathComponent("model.safetensors"))
        }
        let index = components.map { #""\#($0.name)": ["x", "\#($0.className)"]"# }.joined(separator: ", ")
        try Data("{\(index)}".utf8).write(to: folder.appendingPathComponent("model_index.json"))

        let inventory = try ModelInventory(path: folder)
        #expect(inventory.family == .sdxl)
        #expect(inventory.components.map(\.description) == [
            "SD 1.x text encoder (CLIP ViT-L/14 text, width 768)",
            "SDXL text encoder (OpenCLIP ViT-bigG/14 text with projection, width 1280)",
            "SDXL U-Net (cross-attention 2048)",
        ])
    }

    /// Distilled U-Nets share their family's cross-attention width; their parameter count tells
    /// the released layouts apart, and a count that matches none names only the family.
    @Test func releasedUNetLayoutsAreNamedByTheirParameterCount() throws {
        let config = try ConfigJSON(data: Data(#"{"_class_name": "UNet2DConditionModel", "cross_attention_dim": 2048}"#.utf8),
                                    file: "unet/config.json")
        let ssd1b = try ModelInventory.recognise(config, parameterCount: 1_331_334_404)
        #expect(ssd1b.0 == .sdxl)
        #expect(ssd1b.1 == "SDXL U-Net (cross-attention 2048), the layout of segmind/SSD-1B")
        #expect(try ModelInventory.recognise(config, parameterCount: 1_331_334_405).1 == "SDXL U-Net (cross-attention 2048)")
    }

    @Test func aMissingPathIsAModelLoadError() {
        let error = #expect(throws: ModelLoadError.self) { try ModelInventory(path: URL(fileURLWithPath: "/nonexistent/m")) }
        #expect(error?.reason == "no such file or folder")
    }
}
