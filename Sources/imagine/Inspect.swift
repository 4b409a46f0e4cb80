import ArgumentParser
import Foundation
import Models

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a model folder or weight file holds.",
        discussion: """
            Reads headers and configs only, so it is instant even for multi-GB checkpoints. For \
            each component: its class, files, tensor count, stored dtypes, parameter count and the \
            model family it was recognised as.

            EXAMPLES
              imagine inspect ~/models/stable-diffusion-v1-5
              imagine inspect ~/models/v1-5-pruned-emaonly.safetensors
            """)

    @Argument(help: ArgumentHelp("A diffusers folder, a component folder or a .safetensors file.",
                                 valueName: "path"))
    var path: String

    func run() throws {
        let inventory = try reportingErrors { try ModelInventory(path: URL(fileURLWithPath: path)) }
        print(Self.report(inventory))
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

    static func formatCount(_ n: Int) -> String {
        switch n {
        case 1_000_000_000...: return String(format: "%.2f G (%d)", Double(n) / 1e9, n)
        case 1_000_000...: return String(format: "%.1f M (%d)", Double(n) / 1e6, n)
        case 1_000...: return String(format: "%.1f k (%d)", Double(n) / 1e3, n)
        default: return "\(n)"
        }
    }
}
