import ArgumentParser
import Foundation
import Models

/// `--lora FILE[:STRENGTH]` and `--lora-dir DIR`, for `generate` and `live`.
struct LoRAOptions: ParsableArguments {
    @Option(name: .customLong("lora"), help: ArgumentHelp(
        "A LoRA to merge into the model (kohya/A1111, PEFT or diffusers .safetensors, LoCon included), at STRENGTH "
            + "(default 1, may be negative); repeat for several, whose changes add up. A bare NAME is looked up "
            + "in --lora-dir. Prompts may also carry A1111 tags, <lora:NAME:STRENGTH>, found in --lora-dir.",
        valueName: "file[:strength]"))
    var loras: [String] = []

    @Option(help: ArgumentHelp("Where <lora:NAME…> tags and bare --lora names find NAME.safetensors (subfolders too).",
                               valueName: "dir"))
    var loraDir: String?

    func validate() throws { _ = try references() }

    /// The `--lora` values as files with strengths. `FILE:STRENGTH` splits at the last colon when
    /// what follows is a number, so paths with colons still work.
    func references() throws -> [LoRAReference] {
        try loras.map { value in
            var path = value, strength: Float = 1
            if let colon = value.lastIndex(of: ":"), let number = Float(value[value.index(after: colon)...]) {
                guard number.isFinite else { throw ValidationError("--lora \(value): the strength must be finite") }
                path = String(value[..<colon])
                strength = number
            }
            var url = URL(fileURLWithPath: path)
            if !FileManager.default.fileExists(atPath: url.path), !path.contains("/"), let directory {
                url = directory.appendingPathComponent(path + ".safetensors")
            }
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ValidationError("--lora \(value): no such file\(directory == nil ? "" : " (nor \(path).safetensors in --lora-dir)")")
            }
            return LoRAReference(url: url, strength: strength)
        }
    }

    var directory: URL? { loraDir.map { URL(fileURLWithPath: $0, isDirectory: true) } }

    /// Sets `request`'s LoRAs and tag folder from these options.
    func apply(to request: inout GenerationRequest) throws {
        request.loras = try references()
        request.loraDirectory = directory
    }
}
