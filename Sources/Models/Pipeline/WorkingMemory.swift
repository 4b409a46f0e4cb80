import Foundation

/// The memory a request needs beyond the loaded weights, estimated before any work starts, so that
/// a size the machine cannot hold is refused with the numbers instead of aborting on a failed
/// allocation (and taking the rest of a batch with it).
///
/// The rule, in fp32 values (4 bytes): the decoder's full-resolution stage dominates, with about 4
/// live buffers (input, output, group norm, convolution scratch) of its widest full-resolution
/// channel count per pixel; the U-Net adds 16 buffers (its transformer's feed-forward runs 4× wide
/// and skip connections wait) of its first level's channels per latent pixel and batch item (2 with
/// guidance). Attention runs in blocks of queries, so it adds no term that grows with the square of
/// the size. Measured peak growth for imagine-mini from 512² to 1024²: 495 B per pixel; the rule
/// says 512.
public struct WorkingMemory: Sendable, Equatable {
    /// Estimated bytes.
    public let bytes: Double
    /// The decoder's widest full-resolution channel count the estimate used.
    public let decoderChannels: Int

    init(request: GenerationRequest, model: DiffusionModel, guidance: Bool) {
        let pixels = Double(request.width) * Double(request.height)
        let latentPixels = pixels / Double(model.vaeScaleFactor * model.vaeScaleFactor)
        var decoderChannels: Int
        switch request.decoder {
        case .vae:
            let c = model.vae?.config.blockOutChannels ?? [3]
            decoderChannels = max(c[0], c.count > 1 ? c[1] : c[0])
        case .tiny: decoderChannels = model.tinyDecoder?.config.decoderBlockOutChannels.max() ?? 64
        case .latent: decoderChannels = 3
        }
        if request.initImage != nil {
            // The VAE encoder runs at full resolution too, as wide as the decoder's first levels.
            let c = model.vae?.config.blockOutChannels ?? [3]
            decoderChannels = max(decoderChannels, c[0], c.count > 1 ? c[1] : c[0])
        }
        let unetChannels = Double(model.unetConfig.blockOutChannels.first ?? 0)
        self.decoderChannels = decoderChannels
        bytes = 4 * (4 * Double(decoderChannels) * pixels + 16 * unetChannels * latentPixels * (guidance ? 2 : 1))
    }

    /// The machine's physical memory in bytes.
    public static var physical: Double { Double(ProcessInfo.processInfo.physicalMemory) }

    /// Bytes as "1.2 GB" / "340 MB".
    public static func format(_ bytes: Double) -> String {
        switch bytes {
        case 1e11...: return String(format: "%.0f GB", bytes / 1e9)
        case 1e9...: return String(format: "%.1f GB", bytes / 1e9)
        default: return String(format: "%.0f MB", bytes / 1e6)
        }
    }
}
