import Foundation
import ImageIO
import Testing

/// `resized(…, filter: .bicubic)` against Pillow's `Image.resize(…, Image.BICUBIC)` on the pictures
/// Tests/Fixtures/make_upscale_fixtures.py wrote: every byte must match.
@Suite struct BicubicResizeTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/upscale")

    static func fixture(_ name: String) throws -> RGBImage {
        let bytes = try [UInt8](Data(contentsOf: folder.appendingPathComponent(name)))
        return try #require(decodePNG(bytes), "\(name) does not decode")
    }

    @Test(arguments: [2, 3, 4, 8])
    func integerUpscalesMatchPillow(factor: Int) throws {
        let source = try Self.fixture("source.png")
        let expected = try Self.fixture("upscaled-\(factor).png")
        let ours = source.resized(width: source.width * factor, height: source.height * factor, filter: .bicubic)
        #expect(ours.width == expected.width && ours.height == expected.height)
        let differing = zip(ours.pixels, expected.pixels).filter { $0 != $1 }.count
        #expect(differing == 0, "\(differing) of \(expected.pixels.count) bytes differ at \(factor)×")
    }

    @Test(arguments: [(50, 9), (24, 8), (7, 40), (11, 8), (40, 20)])
    func otherSizesMatchPillow(width: Int, height: Int) throws {
        let source = try Self.fixture("source.png")
        let expected = try Self.fixture("resized-\(width)x\(height).png")
        let ours = source.resized(width: width, height: height, filter: .bicubic)
        let differing = zip(ours.pixels, expected.pixels).filter { $0 != $1 }.count
        #expect(ours.width == width && ours.height == height && differing == 0,
                "\(differing) of \(expected.pixels.count) bytes differ at \(width)×\(height)")
    }

    @Test func sameSizeIsTheSamePicture() throws {
        let source = try Self.fixture("source.png")
        #expect(source.resized(width: source.width, height: source.height, filter: .bicubic) == source)
    }
}
