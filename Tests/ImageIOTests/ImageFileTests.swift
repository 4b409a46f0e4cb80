import Foundation
import ImageIO
import Testing

/// Reading init images as diffusers sees them (Pillow's `Image.open(f).convert("RGB")`, then its
/// Lanczos resize), against the files and Pillow results of Tests/Fixtures/make_img2img_fixtures.py:
/// every byte must match.
@Suite struct ImageFileTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    static func pillow(_ name: String) throws -> RGBImage {
        try PNGReader.read(url(name))
    }

    static func read(_ name: String, maximumPixels: Int = 1 << 26) throws -> RGBImage {
        try ImageFile.readRGB(url(name), maximumPixels: maximumPixels)
    }

    static func differingBytes(_ a: RGBImage, _ b: RGBImage) -> Int {
        guard a.width == b.width && a.height == b.height else { return max(a.pixels.count, b.pixels.count) }
        return zip(a.pixels, b.pixels).filter { $0 != $1 }.count
    }

    @Test(arguments: [(50, 9), (24, 8), (7, 40), (11, 8), (40, 20), (64, 48)])
    func lanczosMatchesPillow(width: Int, height: Int) throws {
        let source = try Self.pillow("upscale/source.png")
        let expected = try Self.pillow("img2img/lanczos-\(width)x\(height).png")
        let differing = Self.differingBytes(source.resized(width: width, height: height, filter: .lanczos), expected)
        #expect(differing == 0, "\(differing) of \(expected.pixels.count) bytes differ at \(width)×\(height)")
    }

    @Test(arguments: ["img2img/photo-80x72.jpg", "img2img/grey-40x24.jpg", "img2img/alpha-70x52.png"])
    func decodesAsPillowConvertsToRGB(name: String) throws {
        let ours = try Self.read(name), pillow = try Self.pillow(name + ".png")
        let differing = Self.differingBytes(ours, pillow)
        #expect(differing == 0, "\(name): \(differing) of \(pillow.pixels.count) bytes differ from Pillow's")
    }

    /// diffusers' load_image turns a photo upright by its EXIF orientation before anything else.
    @Test(arguments: 2...8)
    func exifOrientationTurnsThePictureAsPillowDoes(tag: Int) throws {
        let name = "img2img/exif-\(tag).jpg"
        let ours = try Self.read(name), pillow = try Self.pillow(name + ".png")
        #expect(ours.width == pillow.width && ours.height == pillow.height, "\(name): \(ours.width)×\(ours.height)")
        let differing = Self.differingBytes(ours, pillow)
        #expect(differing == 0, "\(name): \(differing) of \(pillow.pixels.count) bytes differ from Pillow's")
    }

    @Test func greyPNGBecomesThreeEqualChannels() throws {
        let image = try Self.read("img2img/grey-64.png")
        #expect(image.width == 64 && image.height == 64)
        let pixels = image.pixels
        let grey = stride(from: 0, to: pixels.count, by: 3).allSatisfy { (i: Int) -> Bool in
            pixels[i] == pixels[i + 1] && pixels[i] == pixels[i + 2]
        }
        #expect(grey)
    }

    @Test func cmykIsRefused() {
        #expect { try Self.read("img2img/cmyk.jpg") } throws: { "\($0)".hasSuffix("cmyk.jpg: a CMYK JPEG; convert it to RGB first") }
    }

    @Test(arguments: ["img2img/photo-80x72.jpg", "img2img/photo.png"])
    func picturesAboveTheLimitAreRefusedBeforeDecoding(name: String) {
        #expect { try Self.read(name, maximumPixels: 1000) } throws: {
            "\($0)".contains(name) && "\($0)".contains("pixels is more than the 1000 this reader accepts")
        }
    }

    @Test(arguments: ["photo-80x72.jpg", "photo.png"])
    func truncatedFilesAreErrorsNamingTheFile(name: String) throws {
        let bytes = try Data(contentsOf: Self.url("img2img/\(name)"))
        let cut = FileManager.default.temporaryDirectory.appendingPathComponent("cut-\(UUID())-\(name)")
        try bytes.prefix(bytes.count / 2).write(to: cut)
        defer { try? FileManager.default.removeItem(at: cut) }
        #expect { try ImageFile.readRGB(cut, maximumPixels: 1 << 26) } throws: {
            "\($0)".hasPrefix(cut.path + ": cannot decode the")
        }
    }

    @Test func otherFilesAreNotPictures() throws {
        let text = FileManager.default.temporaryDirectory.appendingPathComponent("notes-\(UUID()).png")
        try Data("a red apple\n".utf8).write(to: text)
        defer { try? FileManager.default.removeItem(at: text) }
        #expect { try ImageFile.readRGB(text, maximumPixels: 1 << 26) } throws: {
            "\($0)" == "\(text.path): not a PNG or JPEG picture"
        }
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("missing-\(UUID()).jpg")
        #expect { try ImageFile.readRGB(missing, maximumPixels: 1 << 26) } throws: {
            "\($0)".hasPrefix("\(missing.path): cannot read the file")
        }
    }

    /// diffusers' VaeImageProcessor: byte / 255 in float32, then 2x − 1.
    @Test func pixelsBecomeSignedUnitPlanes() {
        let image = RGBImage(width: 2, height: 1, pixels: [0, 128, 255, 10, 20, 30])
        let planes = image.planarSignedUnit
        let unit: (Float) -> Float = { 2 * ($0 / 255) - 1 }
        let expected: [Float] = [unit(0), unit(10), unit(128), unit(20), unit(255), unit(30)]
        #expect(planes == expected && planes[0] == -1 && planes[4] == 1)
    }
}
