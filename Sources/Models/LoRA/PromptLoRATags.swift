import Foundation

/// A1111's extra-network tags in a prompt: `<lora:NAME>`, `<lora:NAME:STRENGTH>` (`lyco` is
/// A1111's other name for `lora`). They are taken out of the text before it is encoded, wherever
/// they stand, and name LoRA files in a LoRA folder by file name.
public enum PromptLoRATags {
    /// A1111's pattern: `<`, a word, `:`, anything up to `>`.
    nonisolated(unsafe) static let tag = /<(\w+):([^>]+)>/

    /// `prompt` without its tags: the text the text encoder sees.
    public static func removing(from prompt: String) -> String {
        guard prompt.contains("<") else { return prompt }
        return prompt.replacing(tag, with: "")
    }

    /// The LoRAs `prompt`'s tags name, in order, found in `directory` (and its subfolders) as
    /// `NAME.safetensors`. Throws for a tag of another kind, a strength that is not a number, a
    /// name with no file, or any tag when there is no directory.
    public static func references(in prompt: String, directory: URL?) throws -> [LoRAReference] {
        guard prompt.contains("<") else { return [] }
        var references: [LoRAReference] = []
        for match in prompt.matches(of: tag) {
            let text = String(match.output.0)
            guard ["lora", "lyco"].contains(match.output.1) else {
                throw LoRAError(file: text, reason: "only <lora:NAME:STRENGTH> tags are supported")
            }
            let arguments = match.output.2.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard arguments.count <= 2 else {
                throw LoRAError(file: text, reason: "separate text-encoder and U-Net strengths are not supported; "
                                    + "write <lora:NAME:STRENGTH>")
            }
            let strength = arguments.count == 2 ? Float(arguments[1].trimmingCharacters(in: .whitespaces)) : 1
            guard let strength, strength.isFinite else {
                throw LoRAError(file: text, reason: "the strength must be a number, like <lora:\(arguments[0]):0.8>")
            }
            guard let directory else {
                throw LoRAError(file: text, reason: "LoRA tags name files in a LoRA folder: pass --lora-dir DIR")
            }
            guard let url = find(arguments[0], in: directory) else {
                throw LoRAError(file: text, reason: "no \(arguments[0]).safetensors in \(directory.path) or its subfolders")
            }
            references.append(LoRAReference(url: url, strength: strength))
        }
        return references
    }

    static func find(_ name: String, in directory: URL) -> URL? {
        let fileName = name + ".safetensors"
        let direct = directory.appendingPathComponent(fileName)
        if FileManager.default.fileExists(atPath: direct.path) { return direct }
        guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return nil }
        for case let url as URL in walker where url.lastPathComponent == fileName { return url }
        return nil
    }
}
