import Foundation
import Testing

/// `imagine generate` and `imagine live` take what the user leaves out from the same place: the
/// model (its `imagine.json`, else the built-in rule). `bench live` reports the settings `live`
/// resolved, through the same options.
@Suite struct ModelDefaultsCommandTests {
    /// The `cfg N` that `bench live` reports.
    static func liveGuidance(_ output: String) -> String? {
        guard let range = output.range(of: "cfg ") else { return nil }
        return String(output[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }

    @Test(arguments: [(nil, "7.5"), (#"{"cfg": 3}"#, "3")] as [(String?, String)])
    func generateAndLiveGetTheSameGuidance(imagineJSON: String?, guidance: String) throws {
        try withTemporaryDirectory { dir in
            let model = dir.appendingPathComponent("model")
            try FileManager.default.copyItem(at: URL(fileURLWithPath: Imagine.tinyModel), to: model)
            if let imagineJSON { try Data(imagineJSON.utf8).write(to: model.appendingPathComponent("imagine.json")) }

            let generate = try Imagine.run(["generate", "--model", model.path, "--steps", "1", "--seed", "1",
                                            "--threads", "1", "an owl"], in: dir)
            #expect(generate.status == 0, "\(generate)")
            let record = try #require(try generate.jsonRecords().first, "\(generate)")
            #expect((record["cfg"] as? NSNumber)?.stringValue == guidance, "\(generate)")

            let live = try Imagine.run(["bench", "live", "--model", model.path, "--prompt", "ab", "--steps", "1",
                                        "--refine-delay-ms", "100000", "--threads", "1"], in: dir)
            #expect(live.status == 0, "\(live)")
            #expect(Self.liveGuidance(live.stdout) == guidance, "\(live)")
        }
    }
}
