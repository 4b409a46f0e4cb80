/// The Stable Diffusion generations this package runs, told apart by the width of the text the
/// U-Net attends to: OpenAI CLIP ViT-L/14's 768 (SD 1.x) or OpenCLIP ViT-H/14's 1024 (SD 2.x,
/// SD-Turbo). What `imagine inspect` reports and what a single-file checkpoint is mapped as.
public enum ModelFamily: String, Sendable {
    case sd1 = "SD 1.x", sd2 = "SD 2.x"

    /// The family whose text states are `width` wide (the text encoder's hidden size, the
    /// U-Net's cross-attention width); nil for other models.
    public init?(textWidth width: Int) {
        switch width {
        case 768: self = .sd1
        case 1024: self = .sd2
        default: return nil
        }
    }

    /// What the family's text encoder is, for reports.
    public var textEncoderName: String {
        switch self {
        case .sd1: "CLIP ViT-L/14 text"
        case .sd2: "OpenCLIP ViT-H/14 text"
        }
    }

    /// U-Net attention heads per level, which no weight shows. SD 1.x's config fixes 8 heads per
    /// level (`num_heads: 8`); SD 2.x's fixes their width at 64 (`num_head_channels: 64`), so
    /// 320 channels make 5 heads.
    public func unetHeads(blockOutChannels: [Int]) -> [Int] {
        switch self {
        case .sd1: blockOutChannels.map { _ in 8 }
        case .sd2: blockOutChannels.map { $0 / 64 }
        }
    }

    /// The text encoder's config from the stored tower's sizes: `layers` is what diffusers keeps
    /// (SD 2.x's tower stores one more). Both towers have 64-wide heads; the activation and
    /// pooling come from the family's reference config (`CLIPTextConfig.sd15`, `.sd21`).
    public func textEncoderConfig(vocabularySize: Int, width: Int, intermediateSize: Int, layers: Int,
                                  maxPositions: Int) -> CLIPTextConfig {
        var config: CLIPTextConfig = self == .sd1 ? .sd15 : .sd21
        config.vocabularySize = vocabularySize
        config.width = width
        config.intermediateSize = intermediateSize
        config.layers = layers
        config.heads = width / 64
        config.maxPositions = maxPositions
        return config
    }
}
