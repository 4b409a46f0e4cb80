import Foundation
import Kernels
import Models

extension BenchTable {
    /// One line of the table: a component, the inputs both sides read, and how it is labelled.
    struct Row {
        enum Component: String { case textEncoder = "text-encoder", textEncoder2 = "text-encoder-2", unet, vae, taesd }
        let component: Component
        /// The diffusers folder for the text encoders (each finds its own tokenizer there), the
        /// component's own folder otherwise.
        let folder: URL
        let label: String
        let size: Int
        let batch: Int
        /// Channels of the latents the U-Net takes or the decoder decodes.
        var latentChannels = 4
        /// The U-Net's cross-attention width (its context input).
        var contextWidth = 0
        /// SDXL-style U-Nets: the width of the pooled text they take beside the six size/crop numbers.
        var pooledWidth: Int?

        var slug: String { "\(component.rawValue)-\(size)-\(batch)" }
        var ourOutputKey: String { component == .textEncoder || component == .textEncoder2 ? "last_hidden_state" : "output" }

        /// Seeded inputs both sides read (the text encoders take the prompt instead): `latents`
        /// for a decoder; `sample`, `encoder_hidden_states`, `timestep` for a U-Net, and for an
        /// SDXL one `text_embeds` (random, as a projected pooled text) and `time_ids` (this size,
        /// uncropped: diffusers' `add_time_ids`).
        func writeInputs(to url: URL) throws {
            var generator = TorchGenerator(seed: UInt64(size + batch))
            let latents = generator.randn([batch, latentChannels, size / 8, size / 8])
            var tensors = [("latents", latents)]
            if component == .unet {
                tensors = [("sample", latents),
                           ("encoder_hidden_states", generator.randn([batch, 77, contextWidth])),
                           ("timestep", Tensor(shape: [1], data: [999]))]
                if let pooledWidth {
                    let side = Float(size)
                    tensors += [("text_embeds", generator.randn([batch, pooledWidth])),
                                ("time_ids", Tensor(shape: [batch, 6], data: Array(repeating: [side, side, 0, 0, side, side], count: batch).flatMap { $0 }))]
                }
            }
            try SafetensorsWriter.write(tensors, to: url)
        }
    }

    /// The table's rows for a diffusers folder, in the order they are measured: the text encoder
    /// (and SDXL's second), the U-Net at each size (and at batch 2 at the first, with
    /// `guidedBatch`), then the decoders at each size — the VAE and `vae_tiny/`, or for a model
    /// whose `vae/` is itself an AutoencoderTiny (SDXS) that one alone.
    static func plannedRows(root: URL, sizes: [Int], parts: Set<Row.Component>, guidedBatch: Bool) throws -> [Row] {
        func folder(_ name: String) -> URL? {
            let url = root.appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) ? url : nil
        }
        var rows: [Row] = []
        if parts.contains(.textEncoder) {
            for (name, component, title) in [("text_encoder", Row.Component.textEncoder, "text encoder"),
                                             ("text_encoder_2", .textEncoder2, "text encoder 2")] {
                guard let encoder = folder(name) else { continue }
                rows.append(Row(component: component, folder: root, label: "\(title)\(parameters(encoder)), 77 tokens",
                                size: 0, batch: 1))
            }
        }
        if parts.contains(.unet), let unet = folder("unet") {
            let config = try reportingErrors { try UNetConfig(contentsOf: unet.appendingPathComponent("config.json")) }
            let name = "U-Net" + (familyName(config).map { " \($0)" } ?? "") + parameters(unet, parenthesized: false)
            for (size, batch) in sizes.map({ ($0, 1) }) + (guidedBatch ? [(sizes[0], 2)] : []) {
                let latent = size / 8
                rows.append(Row(component: .unet, folder: unet,
                                label: "\(name), \(size)² (\(latent)×\(latent) latent)" + (batch > 1 ? ", batch \(batch)" : ""),
                                size: size, batch: batch, latentChannels: config.inChannels,
                                contextWidth: config.crossAttentionDim, pooledWidth: config.textTimeEmbedding?.pooledWidth))
            }
        }
        var decoders: [(URL, Row.Component, String)] = []
        if let vae = folder("vae") {
            if try diffusersClass(of: vae) == "AutoencoderTiny" {
                decoders.append((vae, .taesd, "tiny VAE (vae/) decode"))
            } else {
                decoders.append((vae, .vae, "VAE decode"))
                if let tiny = folder("vae_tiny") { decoders.append((tiny, .taesd, "TAESD decode")) }
            }
        } else if let tiny = folder("vae_tiny") {
            decoders.append((tiny, .taesd, "TAESD decode"))
        }
        for (decoder, component, title) in decoders where parts.contains(component) {
            let channels = try reportingErrors {
                component == .vae
                    ? try AutoencoderKLConfig(contentsOf: decoder.appendingPathComponent("config.json")).latentChannels
                    : try AutoencoderTinyConfig(contentsOf: decoder.appendingPathComponent("config.json")).latentChannels
            }
            for size in sizes {
                rows.append(Row(component: component, folder: decoder, label: "\(title) \(size)²", size: size, batch: 1,
                                latentChannels: channels))
            }
        }
        return rows
    }

    /// SDXL for a U-Net that takes pooled text and size ids (SDXL, SSD-1B, Vega), else the SD
    /// generation whose text width it attends to; nil for other widths (test fixtures).
    static func familyName(_ config: UNetConfig) -> String? {
        if config.textTimeEmbedding != nil { return "SDXL" }
        switch config.crossAttentionDim {
        case 768: return "SD 1.x"
        case 1024: return "SD 2.x"
        default: return nil
        }
    }

    /// " 2.6B" or " (123M)": the weights' element count from the safetensors headers of a component
    /// folder, which tells the members of a family apart (SDXL 2.6B, SSD-1B 1.3B; SD 1.5 860M,
    /// BK-SDM-Tiny 323M); empty when the folder's weights cannot be read.
    static func parameters(_ folder: URL, parenthesized: Bool = true) -> String {
        guard let store = try? ShardedStore(folder: folder) else { return "" }
        let count = Double(store.keys.reduce(0) { $0 + (store.shape(of: $1)?.reduce(1, *) ?? 0) })
        let text = count >= 1e9 ? String(format: "%.1fB", count / 1e9)
            : count >= 1e7 ? String(format: "%.0fM", count / 1e6) : String(format: "%.1fM", count / 1e6)
        return parenthesized ? " (\(text))" : " \(text)"
    }

    /// The `_class_name` in a diffusers component's config.json.
    static func diffusersClass(of folder: URL) throws -> String? {
        let url = folder.appendingPathComponent("config.json")
        let object = try reportingErrors { try JSONSerialization.jsonObject(with: Data(contentsOf: url)) }
        return (object as? [String: Any])?["_class_name"] as? String
    }
}
