import Kernels

/// img2img's starting picture, as a front end read it from a file, resampled to whatever size a
/// request renders at (the live preview and the full render differ).
///
/// The resampling is the front end's: it owns the pixel format and the filter (diffusers' image
/// processor resizes with PIL's Lanczos filter), which a model has no business knowing. Two
/// values are equal when they come from the same read, so the pipeline can keep one image's
/// encoding for every render that starts from it.
public struct InitImage: Sendable, Equatable {
    /// The file's name, for metadata.
    public let name: String
    /// The picture's own size in pixels.
    public let width: Int
    public let height: Int
    private let source: Source

    private final class Source: Sendable {
        let pixels: @Sendable (_ width: Int, _ height: Int) -> Tensor
        init(_ pixels: @escaping @Sendable (_ width: Int, _ height: Int) -> Tensor) { self.pixels = pixels }
    }

    /// `pixels(width, height)` must return the picture resampled to that size as
    /// [1, 3, height, width] RGB in [-1, 1], the same values on every call.
    public init(name: String, width: Int, height: Int,
                pixels: @escaping @Sendable (_ width: Int, _ height: Int) -> Tensor) {
        self.name = name
        self.width = width
        self.height = height
        source = Source(pixels)
    }

    /// [1, 3, height, width] in [-1, 1].
    public func pixels(width: Int, height: Int) -> Tensor {
        let tensor = source.pixels(width, height)
        precondition(tensor.shape == [1, 3, height, width],
                     "init image \(name): resampled to \(tensor.shape), asked for [1, 3, \(height), \(width)]")
        return tensor
    }

    /// The size diffusers' img2img renders this picture at when given no size
    /// (`VaeImageProcessor.get_default_height_width`): its own, each side rounded down to a
    /// multiple of `factor` (the VAE's scale, 8 for SD). 0 for a side shorter than `factor`.
    public func defaultSize(multipleOf factor: Int) -> (width: Int, height: Int) {
        (width / factor * factor, height / factor * factor)
    }

    public static func == (a: InitImage, b: InitImage) -> Bool { a.source === b.source }

    /// For caches keyed by the read this picture came from.
    var identity: ObjectIdentifier { ObjectIdentifier(source) }
}
