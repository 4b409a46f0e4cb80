import Foundation

/// What Tests/Fixtures/terminal-graphics/make_chafa_samples.c wrote with libchafa 1.12.4.
enum ChafaSamples {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/terminal-graphics")

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
    }

    /// The picture chafa was given (source.rgba).
    static func source() throws -> DecodedImage {
        DecodedImage(width: 32, height: 24, rgba: try bytes("source.rgba"))
    }

    /// Its fully transparent hole, which chafa prints as nothing (sixel) or (0, 0, 0, 0).
    static let transparentRectangle = (x: 4..<11, y: 3..<8)
}
