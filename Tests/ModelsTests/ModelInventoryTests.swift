import Foundation
import Models
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

    @Test(arguments: [("sd1-tiny", ModelFamily.sd1), ("sd2-tiny", ModelFamily.sd2)])
    func singleFilesAreRecognisedAsTheLoaderReadsThem(name: String, family: ModelFamily) throws {
        let url = FixturePaths.url("single-file/\(name).safetensors")
        let inventory = try ModelInventory(path: url)
        #expect(inventory.family == family)
        #expect(inventory.family == (try SingleFileCheckpoint(url: url)).family)
        #expect(inventory.components.first?.description?.hasPrefix("\(family.rawValue) single-file checkpoint") == true)
    }

    @Test func aMissingPathIsAModelLoadError() {
        let error = #expect(throws: ModelLoadError.self) { try ModelInventory(path: URL(fileURLWithPath: "/nonexistent/m")) }
        #expect(error?.reason == "no such file or folder")
    }
}
