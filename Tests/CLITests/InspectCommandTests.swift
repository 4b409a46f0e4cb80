import Foundation
import Testing

/// `imagine inspect` end to end on the tiny fixture model.
@Suite struct InspectCommandTests {
    /// Parameter counts computed here from the safetensors headers (the product of each tensor's
    /// shape), independently of the code under test.
    static func parameterCount(ofSafetensors url: URL) throws -> Int {
        let bytes = [UInt8](try Data(contentsOf: url))
        try #require(bytes.count >= 8)
        let length = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        try #require(8 + length <= bytes.count)
        let header = try #require(
            try JSONSerialization.jsonObject(with: Data(bytes[8 ..< 8 + length])) as? [String: Any])
        return header.filter { $0.key != "__metadata__" }.values.reduce(0) { total, entry in
            let shape = ((entry as? [String: Any])?["shape"] as? [NSNumber]) ?? []
            return total + shape.reduce(1) { $0 * $1.intValue }
        }
    }

    /// `name (Class)` headings and the number in brackets on their `parameters:` line.
    static func parameterCounts(inReport report: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        var component: String?
        for line in report.split(separator: "\n").map(String.init) {
            let indent = line.prefix { $0 == " " }.count
            let text = line.trimmingCharacters(in: .whitespaces)
            if indent == 2, !text.contains(":") {
                component = text.split(separator: " ").first.map(String.init)
            } else if indent == 4, text.hasPrefix("parameters:"), let component,
                      let open = text.lastIndex(of: "("), let close = text.lastIndex(of: ")"),
                      let n = Int(text[text.index(after: open) ..< close]) {
                counts[component] = n
            } else if indent == 4, text.hasPrefix("parameters:"), let component,
                      let n = Int(text.dropFirst("parameters:".count).trimmingCharacters(in: .whitespaces)) {
                counts[component] = n
            }
        }
        return counts
    }

    @Test func aDiffusersFolderListsItsComponentsWithParameterCounts() throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.run(["inspect", Imagine.tinyModel], in: dir)
            #expect(run.status == 0, "\(run)")
            #expect(run.stderr.isEmpty, "\(run)")
            #expect(run.stdoutLines.first == Imagine.tinyModel)

            let model = URL(fileURLWithPath: Imagine.tinyModel)
            let expected = [
                "text_encoder": try Self.parameterCount(
                    ofSafetensors: model.appendingPathComponent("text_encoder/model.safetensors")),
                "unet": try Self.parameterCount(
                    ofSafetensors: model.appendingPathComponent("unet/diffusion_pytorch_model.safetensors")),
                "vae": try Self.parameterCount(
                    ofSafetensors: model.appendingPathComponent("vae/diffusion_pytorch_model.safetensors")),
            ]
            #expect(Self.parameterCounts(inReport: run.stdout) == expected, "\(run)")
            for (name, className) in [("text_encoder", "CLIPTextModel"), ("unet", "UNet2DConditionModel"),
                                      ("vae", "AutoencoderKL")] {
                #expect(run.stdoutLines.contains("  \(name) (\(className))"), "\(run)")
            }
            let total = expected.values.reduce(0, +)
            let totalLine = run.stdoutLines.first { $0.hasPrefix("  total parameters:") }
            #expect(totalLine?.hasSuffix("(\(total))") == true, "\(run)")
            // Then how this machine would run it.
            let machine = Array(run.stdoutLines.drop { !$0.hasPrefix("  this machine: ") })
            #expect(machine.count == 3, "\(run)")
            #expect(machine.dropFirst().first?.contains(" kernels") == true, "\(run)")
            #expect(machine.last?.hasPrefix("    precision auto: ") == true, "\(run)")
        }
    }

    @Test func aComponentFolderIsInspectedOnItsOwn() throws {
        try withTemporaryDirectory { dir in
            let unet = URL(fileURLWithPath: Imagine.tinyModel).appendingPathComponent("unet")
            let run = try Imagine.run(["inspect", unet.path], in: dir)
            #expect(run.status == 0, "\(run)")
            let count = try Self.parameterCount(
                ofSafetensors: unet.appendingPathComponent("diffusion_pytorch_model.safetensors"))
            #expect(Self.parameterCounts(inReport: run.stdout) == ["unet": count], "\(run)")
            #expect(run.stdout.contains("U-Net"), "\(run)")
        }
    }

    @Test func aMissingPathIsOneErrorLineNamingIt() throws {
        try withTemporaryDirectory { dir in
            let missing = "/nonexistent/imagine-model-\(UUID())"
            let run = try Imagine.run(["inspect", missing], in: dir)
            #expect(run.status != 0, "\(run)")
            #expect(run.stderrLines.count == 1, "one line, no usage or stack trace: \(run)")
            #expect(run.stderrLines.first?.hasPrefix("error: ") == true, "\(run)")
            #expect(run.stderr.contains(missing), "\(run)")
            #expect(run.stdout.isEmpty, "\(run)")
        }
    }
}
