import Kernels
extension SamplerKind {
    /// The name AUTOMATIC1111's web UI gives this sampler, so tools that read its metadata
    /// (`parameters` PNG chunk) recognise ours.
    public var a1111Name: String {
        switch self {
        case .euler: return "Euler"
        case .eulerAncestral: return "Euler a"
        case .ddim: return "DDIM"
        case .lcm: return "LCM"
        case .dpmpp2m: return "DPM++ 2M"
        case .dpmpp2mKarras: return "DPM++ 2M Karras"
        }
    }
}

extension GenerationRequest {
    /// The A1111-style `parameters` text: the prompt, then `Negative prompt: …`, then one line of
    /// `Key: value` pairs. Newlines inside the prompts are kept (A1111 does the same); commas in
    /// the model name are replaced because readers split that line on ", ".
    public func a1111Parameters(modelName: String, precision: Precision) -> String {
        var lines = [prompt]
        if !negativePrompt.isEmpty { lines.append("Negative prompt: \(negativePrompt)") }
        let model = modelName.replacingOccurrences(of: ",", with: " ")
        lines.append("Steps: \(steps), Sampler: \(sampler.a1111Name), CFG scale: \(formatScale(guidanceScale)), "
                     + "Seed: \(seed), Size: \(width)x\(height), Model: \(model), Decoder: \(decoder.rawValue), "
                     + "Precision: \(precision.rawValue)")
        return lines.joined(separator: "\n")
    }

    private func formatScale(_ value: Float) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
