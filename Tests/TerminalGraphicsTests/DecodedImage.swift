/// Pixels a decoder recovered from terminal output, independently of the code that produced them.
struct DecodedImage: Equatable, Sendable, CustomStringConvertible {
    var width: Int
    var height: Int
    /// (height, width, 4) RGBA8, rows top to bottom, alpha not premultiplied.
    var rgba: [UInt8]

    init(width: Int, height: Int, rgba: [UInt8]) {
        precondition(rgba.count == width * height * 4,
                     "\(width)×\(height) RGBA needs \(width * height * 4) bytes, got \(rgba.count)")
        self.width = width
        self.height = height
        self.rgba = rgba
    }

    /// Expands (height, width, 3) RGB8 with every pixel opaque.
    init(width: Int, height: Int, rgb: [UInt8]) {
        precondition(rgb.count == width * height * 3,
                     "\(width)×\(height) RGB needs \(width * height * 3) bytes, got \(rgb.count)")
        var rgba = [UInt8](repeating: 255, count: width * height * 4)
        for pixel in 0..<width * height {
            rgba[pixel * 4..<pixel * 4 + 3] = rgb[pixel * 3..<pixel * 3 + 3]
        }
        self.init(width: width, height: height, rgba: rgba)
    }

    /// (red, green, blue, alpha) of the pixel in column x, row y.
    func pixel(x: Int, y: Int) -> [UInt8] {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "(\(x), \(y)) is outside \(width)×\(height)")
        let start = (y * width + x) * 4
        return Array(rgba[start..<start + 4])
    }

    // A failing #expect on two images prints this rather than thousands of bytes.
    var description: String { "\(width)×\(height) RGBA" }
}
