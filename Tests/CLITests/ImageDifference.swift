import ImageIO

/// How far apart two pictures of the same size are: the mean absolute difference of their bytes,
/// over every pixel and channel. 0 means identical, 255 black against white. One number to say how
/// close a terminal's rendering of a picture comes to the picture itself.
func meanAbsoluteDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
    precondition(a.width == b.width && a.height == b.height,
                 "comparing a \(a.width)×\(a.height) picture with a \(b.width)×\(b.height) one")
    var total = 0
    for (x, y) in zip(a.pixels, b.pixels) { total += abs(Int(x) - Int(y)) }
    return a.pixels.isEmpty ? 0 : Double(total) / Double(a.pixels.count)
}
