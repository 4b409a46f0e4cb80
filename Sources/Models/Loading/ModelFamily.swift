/// The Stable Diffusion generations this package runs, told apart by the width of the text the
/// U-Net attends to: OpenAI CLIP ViT-L/14's 768 (SD 1.x), OpenCLIP ViT-H/14's 1024 (SD 2.x,
/// SD-Turbo), or CLIP ViT-L/14's 768 and OpenCLIP ViT-bigG/14's 1280 side by side (SDXL, SDXL-Turbo,
/// SSD-1B, Vega). What `imagine inspect` reports and what a single-file checkpoint is mapped as.
public enum ModelFamily: String, Sendable {
    case sd1 = "SD 1.x", sd2 = "SD 2.x", sdxl = "SDXL"

    /// The family whose text states are `width` wide (a text encoder's hidden size, the U-Net's
    /// cross-attention width); nil for other models. SDXL's 2048 is its two encoders' 768 + 1280
    /// concatenated; 1280 is its second encoder alone (its first, 768 wide, reads as SD 1.x's).
    public init?(textWidth width: Int) {
        switch width {
        case 768: self = .sd1
        case 1024: self = .sd2
        case 1280, 2048: self = .sdxl
        default: return nil
        }
    }

    /// What the family's (first) text encoder is, for reports.
    public var textEncoderName: String {
        switch self {
        case .sd1, .sdxl: "CLIP ViT-L/14 text"
        case .sd2: "OpenCLIP ViT-H/14 text"
        }
    }

    /// What the family's second text encoder is, for reports; nil for a family with one.
    public var textEncoder2Name: String? {
        self == .sdxl ? "OpenCLIP ViT-bigG/14 text with projection" : nil
    }

    /// U-Net attention heads per level, which no weight shows. SD 1.x's config fixes 8 heads per
    /// level (`num_heads: 8`); SD 2.x's and SDXL's fix their width at 64 (`num_head_channels: 64`),
    /// so 320 channels make 5 heads.
    public func unetHeads(blockOutChannels: [Int]) -> [Int] {
        switch self {
        case .sd1: blockOutChannels.map { _ in 8 }
        case .sd2, .sdxl: blockOutChannels.map { $0 / 64 }
        }
    }

    /// The U-Net's `sample_size` (latent pixels) as the family's reference config says: 512-pixel
    /// SD 1.x, 768-pixel SD 2.x (what diffusers assumes for SD 2.x single files), 1024-pixel SDXL.
    public var unetSampleSize: Int {
        switch self {
        case .sd1: 64
        case .sd2: 96
        case .sdxl: 128
        }
    }

    /// The VAE's latent scale: LDM's 0.18215 for SD 1.x/2.x, 0.13025 for SDXL's retrained VAE
    /// (stable-diffusion-xl-base-1.0/vae/config.json).
    public var vaeScalingFactor: Float { self == .sdxl ? 0.13025 : 0.18215 }

    /// The text encoder's config from the stored tower's sizes: `layers` is what diffusers keeps
    /// (SD 2.x's tower stores one more). Both towers have 64-wide heads; the activation and
    /// pooling come from the family's reference config (`CLIPTextConfig.sd15`, `.sd21`; SDXL's
    /// first encoder is SD 1.x's CLIP ViT-L, all 12 layers kept).
    public func textEncoderConfig(vocabularySize: Int, width: Int, intermediateSize: Int, layers: Int,
                                  maxPositions: Int) -> CLIPTextConfig {
        var config: CLIPTextConfig = self == .sd2 ? .sd21 : .sd15
        config.vocabularySize = vocabularySize
        config.width = width
        config.intermediateSize = intermediateSize
        config.layers = layers
        config.heads = width / 64
        config.maxPositions = maxPositions
        return config
    }

    /// The second text encoder's config from the stored tower's sizes (SDXL: OpenCLIP ViT-bigG/14,
    /// every layer kept, 64-wide heads, GELU, `CLIPTextConfig.sdxlBigG`); nil for a family with one
    /// text encoder.
    public func textEncoder2Config(vocabularySize: Int, width: Int, intermediateSize: Int, layers: Int,
                                   maxPositions: Int, projectionDim: Int) -> CLIPTextConfig? {
        guard self == .sdxl else { return nil }
        var config = CLIPTextConfig.sdxlBigG
        config.vocabularySize = vocabularySize
        config.width = width
        config.intermediateSize = intermediateSize
        config.layers = layers
        config.heads = width / 64
        config.maxPositions = maxPositions
        config.projectionDim = projectionDim
        return config
    }
}
