import Foundation
import Models
import Testing

@Suite struct RecommendedSettingsTests {
    private func withFolder(_ json: String?, _ body: (URL) throws -> Void) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recommended-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        if let json { try Data(json.utf8).write(to: folder.appendingPathComponent("imagine.json")) }
        try body(folder)
    }

    @Test func aFolderWithoutTheFileRecommendsNothing() throws {
        try withFolder(nil) { folder throws in #expect(try RecommendedSettings.load(folder: folder) == RecommendedSettings()) }
    }

    @Test func everyKeyIsOptional() throws {
        try withFolder(#"{"steps": 1, "cfg": 0}"#) { folder throws in
            #expect(try RecommendedSettings.load(folder: folder) == RecommendedSettings(steps: 1, cfg: 0))
        }
        try withFolder(#"{"steps": 20, "cfg": 2.5, "preview_steps": 2, "preview_decoder": "vae"}"#) { folder throws in
            #expect(try RecommendedSettings.load(folder: folder)
                    == RecommendedSettings(steps: 20, cfg: 2.5, previewSteps: 2, previewDecoder: .vae))
        }
    }

    @Test(arguments: [
        (#"{"steps": 0}"#, "steps must be at least 1"),
        (#"{"preview_steps": 3}"#, "preview_steps must be 1 or 2"),
        (#"{"cfg": "high"}"#, "not a settings object"),
        ("[1, 2]", "not a settings object"),
        (#"{"preview_decoder": "jpeg"}"#, "not a settings object"),
    ])
    func badFilesAreRefusedByName(json: String, problem: String) throws {
        try withFolder(json) { folder in
            let error = try #require(throws: ModelLoadError.self) { try RecommendedSettings.load(folder: folder) }
            #expect(error.path.hasSuffix("imagine.json") && error.reason.contains(problem), "\(error)")
        }
    }
}
