import ArgumentParser
import Foundation
import Kernels
import Models

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a model folder or weight file holds.",
        discussion: """
            For each component: its class, files, tensor count, stored dtypes, parameter count and \
            the model family it was recognised as. Then every tensor is read once to check that no \
            value is NaN or infinite, and a diffusers folder is loaded as generate loads it; the \
            exit status is 1 when either fails (a few seconds for a multi-GB model). With --lora, \
            each LoRA file's modules are matched against the model's layers and counted; a module \
            that matches none also makes the exit status 1.

            EXAMPLES
              imagine inspect ~/models/stable-diffusion-v1-5
              imagine inspect ~/models/v1-5-pruned-emaonly.safetensors
              imagine inspect ~/models/stable-diffusion-v1-5 --lora ~/loras/lcm-lora-sdv1-5.safetensors
            """)

    @Argument(help: ArgumentHelp("A diffusers folder, a component folder or a .safetensors file.",
                                 valueName: "path"))
    var path: String

    @Option(name: .customLong("lora"), help: ArgumentHelp("A LoRA file to match against the model's layers (repeatable).",
                                                          valueName: "file"))
    var loras: [String] = []

    func run() throws {
        let url = URL(fileURLWithPath: path)
        let inventory = try reportingErrors { try ModelInventory(path: url) }
        try reportingErrors { try StandardStream.output(Self.report(inventory) + "\n" + Self.machineReport() + "\n") }
        // Headers can look right while the values or the parts do not fit: read every tensor (also
        // those text-to-image never loads, such as the VAE encoder's), and load a diffusers folder.
        try reportingErrors {
            try Self.checkValues(inventory)
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("model_index.json").path) {
                _ = try DiffusionModel.load(path: url)
            }
        }
        var unmatched = false
        for lora in loras {
            try reportingErrors {
                let file = try LoRAFile(url: URL(fileURLWithPath: lora))
                let matches = try file.matches(modelAt: url)
                unmatched = unmatched || matches.contains { $0.unmatched > 0 }
                try StandardStream.output(Self.report(file, matches) + "\n")
            }
        }
        if unmatched { throw ExitCode(1) }
    }

    static func report(_ file: LoRAFile, _ matches: [LoRAMatch]) -> String {
        let ranks = file.rankRange
        var lines = ["  LoRA \(file.url.path)",
                     "    layout: \(file.format.rawValue), rank \(ranks.count == 1 ? "\(ranks.lowerBound)" : "\(ranks.lowerBound)–\(ranks.upperBound)"), "
                         + "A1111 hash \(file.shortHash)"]
        for match in matches {
            lines.append("    \(match.component.rawValue): \(match.matched + match.unmatched) modules, \(match.matched) matched, "
                         + "\(match.unmatched) unmatched" + (match.firstUnmatched.map { " (first: \($0))" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }

    /// Reads every floating-point tensor of every file (converting it as loading does, which
    /// refuses NaN and infinite values).
    static func checkValues(_ inventory: ModelInventory) throws {
        let floating: Set<SafetensorsDType> = [.f32, .f16, .bf16, .f64]
        for file in inventory.components.flatMap(\.files) {
            let weights = try SafetensorsFile(url: file)
            for name in weights.tensorNames where weights.info(name).map({ floating.contains($0.dtype) }) ?? false {
                _ = try weights.tensor(name)
            }
        }
    }

    static func report(_ inventory: ModelInventory) -> String {
        var lines = ["\(inventory.path.path)"]
        lines.append("  family: \(inventory.family?.rawValue ?? "not recognised")")
        var total = 0
        for component in inventory.components {
            total += component.parameterCount
            let dtypes = component.dtypes.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { "\($0.key.rawValue)×\($0.value)" }.joined(separator: " ")
            lines.append("  \(component.name)\(component.className.map { " (\($0))" } ?? "")")
            lines.append("    files:      \(component.files.map(\.lastPathComponent).joined(separator: ", "))")
            lines.append("    tensors:    \(component.tensorCount) [\(dtypes)]")
            lines.append("    parameters: \(formatCount(component.parameterCount))")
            if let description = component.description { lines.append("    recognised: \(description)") }
        }
        lines.append("  total parameters: \(formatCount(total))")
        return lines.joined(separator: "\n")
    }

    /// How this machine would run the model: what `generate` and `live` load it in.
    static func machineReport() -> String {
        Threads.configureDefault()
        return """
              this machine: \(CPUFeatures.current.description), \(Threads.count) threads
                fp32 products: \(BLASKernelSelection.description)
                precision auto: \(AutomaticPrecision.current.description)
            """
    }

    static func formatCount(_ n: Int) -> String {
        // The exact count is interpolated, not formatted: `%d` reads 32 bits, and SDXL's U-Net
        // alone has more parameters than that holds.
        switch n {
        case 1_000_000_000...: return String(format: "%.2f G", Double(n) / 1e9) + " (\(n))"
        case 1_000_000...: return String(format: "%.1f M", Double(n) / 1e6) + " (\(n))"
        case 1_000...: return String(format: "%.1f k", Double(n) / 1e3) + " (\(n))"
        default: return "\(n)"
        }
    }
}
