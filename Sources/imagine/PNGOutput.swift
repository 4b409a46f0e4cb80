import Foundation
import ImageIO
import Kernels
import Models

/// A rendered picture to a PNG file, the same way for every command: diffusers' byte mapping,
/// the A1111 `parameters` chunk, an atomic write, and never over an existing file.
enum PNGOutput {
    /// [1, 3, height, width] in about [-1, 1] → 8-bit RGB (first image of the batch).
    static func rgbImage(_ image: Tensor) -> RGBImage {
        let height = image.shape[2], width = image.shape[3]
        return image.data.withUnsafeBufferPointer {
            RGBImage(planarSignedUnit: UnsafeBufferPointer(rebasing: $0[0 ..< 3 * width * height]),
                     width: width, height: height)
        }
    }

    /// Refuses an enlargement the machine cannot hold, as `Pipeline.validate` refuses a size: the
    /// saved picture's 8-bit RGB and libpng's encoded copy of about the same size.
    static func checkUpscale(_ request: GenerationRequest, upscale: Int) throws {
        let bytes = 2 * 3 * Double(request.width) * Double(request.height) * Double(upscale * upscale)
        guard upscale == 1 || bytes <= WorkingMemory.physical else {
            throw GenerationError(
                "a \(request.width)×\(request.height) image saved \(upscale)× larger needs about "
                    + "\(WorkingMemory.format(bytes)), more than this machine's \(WorkingMemory.format(WorkingMemory.physical))",
                field: "upscale")
        }
    }

    /// Writes `image`, enlarged `upscale` times, with `request`'s settings as metadata to
    /// `target`, or, when that name is taken, to `name-2.png`, `name-3.png`, …; returns the path
    /// written. An enlargement is recorded with A1111's keys for post-processing upscales.
    static func write(_ image: Tensor, request: GenerationRequest, model: DiffusionModel, loras: [Pipeline.UsedLoRA],
                      upscale: Int, to target: URL) throws -> String {
        var rgb = rgbImage(image)
        if upscale > 1 { rgb = rgb.resized(width: rgb.width * upscale, height: rgb.height * upscale, filter: .bicubic) }
        let parameters = request.a1111Parameters(modelName: model.name, precision: model.precision, loras: loras,
                                                 upscale: upscale)
        let text = [(key: "parameters", value: parameters)]
        try OutputPath.createFolder(target.deletingLastPathComponent())
        let base = target.deletingPathExtension().lastPathComponent
        var candidate = target
        var suffix = 2
        while true {
            do {
                try PNGWriter.write(rgb, text: text, to: candidate, overwrite: false)
                return candidate.path
            } catch let error as PNGError where error.errorNumber == EEXIST {
                candidate = target.deletingLastPathComponent().appendingPathComponent("\(base)-\(suffix).png")
                suffix += 1
            }
        }
    }
}

// MARK: - AUTOMATIC1111 metadata

extension SamplerKind {
    /// The name AUTOMATIC1111's web UI gives this sampler, so tools that read its metadata
    /// (`parameters` PNG chunk) recognise ours.
    var a1111Name: String {
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
    /// the model name are replaced because readers split that line on ", ". An image-to-image
    /// render records its strength as A1111's img2img does (`Denoising strength: 0.75`, Python's
    /// float formatting, which Swift's Double shares). LoRAs are listed as A1111 lists them
    /// (`Lora hashes: "name: hash, …"`, names without `:` and `,`), and with their strengths
    /// (`LoRAs: "name: 0.8, …"`), since `--lora` ones appear in no prompt tag. An enlargement is
    /// recorded with A1111's keys for post-processing upscales.
    func a1111Parameters(modelName: String, precision: Precision, loras: [Pipeline.UsedLoRA] = [],
                         upscale: Int) -> String {
        var lines = [prompt]
        if !negativePrompt.isEmpty { lines.append("Negative prompt: \(negativePrompt)") }
        let model = modelName.replacingOccurrences(of: ",", with: " ")
        func listed(_ value: (Pipeline.UsedLoRA) -> String) -> String {
            "\"" + loras.map { $0.name.filter { $0 != ":" && $0 != "," } + ": " + value($0) }.joined(separator: ", ") + "\""
        }
        lines.append("Steps: \(steps), Sampler: \(sampler.a1111Name), CFG scale: \(formatScale(guidanceScale)), "
                     + "Seed: \(seed), Size: \(width)x\(height), Model: \(model), "
                     + (initImage != nil ? "Denoising strength: \(strength), " : "")
                     + (loras.isEmpty ? "" : "Lora hashes: \(listed(\.shortHash)), LoRAs: \(listed { "\($0.strength)" }), ")
                     + "Decoder: \(decoder.rawValue), Precision: \(precision.rawValue)"
                     + (upscale > 1 ? ", Postprocess upscale by: \(upscale), Postprocess upscaler: Bicubic" : ""))
        return lines.joined(separator: "\n")
    }

    /// Whole scales as integers (`7`, as A1111 writes them), others as Swift prints a Float
    /// (`7.5`, `1e+30`): no scale, however large, is forced into an Int.
    private func formatScale(_ value: Float) -> String {
        value == value.rounded() && value.magnitude < 1e9 ? String(Int(value)) : String(value)
    }
}
