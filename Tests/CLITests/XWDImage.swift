import Foundation
import ImageIO

/// A screenshot in the X Window Dump format that `xwd` writes, decoded to 8-bit RGB: enough to
/// read what a terminal under Xvfb shows without any image library.
///
/// The file is a header of big-endian 32-bit fields (`XWDFileHeader` in X11/XWDFile.h, version 7)
/// followed by the dumped window's name, then `ncolors` colormap entries of 12 bytes, then the
/// pixels: `height` rows of `bytes_per_line` bytes. Each pixel is an integer of `bits_per_pixel`
/// bits in the header's byte order whose channels the red, green and blue masks select. xwd
/// writes 32-bit pixels for a plain Xvfb screen, and 24-bit ones (rows still padded) when it
/// composes a screen whose windows have different visuals, such as kitty's OpenGL window.
struct XWDImage {
    let width: Int
    let height: Int
    /// [height, width, 3]: rows top to bottom, bytes R G B.
    let rgb: [UInt8]
    /// Where the dumped window's top-left corner is on the screen.
    let windowX: Int
    let windowY: Int

    enum Problem: Error, CustomStringConvertible {
        case truncated(what: String, needs: Int, has: Int)
        case unsupported(String)
        var description: String {
            switch self {
            case .truncated(let what, let needs, let has): return "not a whole XWD file: \(what) needs \(needs) bytes, the file has \(has)"
            case .unsupported(let what): return "unsupported XWD file: \(what)"
            }
        }
    }

    // Field indices in the header, in file order.
    private enum Field: Int {
        case headerSize, fileVersion, pixmapFormat, pixmapDepth, pixmapWidth, pixmapHeight, xOffset, byteOrder,
             bitmapUnit, bitmapBitOrder, bitmapPad, bitsPerPixel, bytesPerLine, visualClass,
             redMask, greenMask, blueMask, bitsPerRGB, colormapEntries, colorCount,
             windowWidth, windowHeight, windowX, windowY, windowBorderWidth
    }
    private static let headerFieldCount = 25
    private static let zPixmap: UInt32 = 2
    private static let trueColor: UInt32 = 4, directColor: UInt32 = 5
    private static let lsbFirst: UInt32 = 0

    init(contentsOf url: URL) throws {
        try self.init(bytes: [UInt8](try Data(contentsOf: url)))
    }

    init(bytes: [UInt8]) throws {
        func u32(_ offset: Int) -> UInt32 { bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        func u16(_ offset: Int) -> UInt16 { UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }
        guard bytes.count >= 4 * Self.headerFieldCount else {
            throw Problem.truncated(what: "the header", needs: 4 * Self.headerFieldCount, has: bytes.count)
        }
        func field(_ f: Field) -> UInt32 { u32(4 * f.rawValue) }

        guard field(.fileVersion) == 7 else { throw Problem.unsupported("version \(field(.fileVersion)), not 7") }
        guard field(.pixmapFormat) == Self.zPixmap else {
            throw Problem.unsupported("pixmap format \(field(.pixmapFormat)), not ZPixmap (2)")
        }
        let visualClass = field(.visualClass)
        guard visualClass == Self.trueColor || visualClass == Self.directColor else {
            throw Problem.unsupported("visual class \(visualClass), not TrueColor (4) or DirectColor (5)")
        }
        let bitsPerPixel = Int(field(.bitsPerPixel))
        guard [8, 16, 24, 32].contains(bitsPerPixel) else { throw Problem.unsupported("\(bitsPerPixel) bits per pixel") }
        let width = Int(field(.pixmapWidth)), height = Int(field(.pixmapHeight))
        let bytesPerLine = Int(field(.bytesPerLine)), xOffset = Int(field(.xOffset))
        let bytesPerPixel = bitsPerPixel / 8
        guard bytesPerLine >= (xOffset + width) * bytesPerPixel else {
            throw Problem.unsupported("\(bytesPerLine) bytes per line for \(xOffset) + \(width) pixels of \(bitsPerPixel) bits")
        }
        let masks = [field(.redMask), field(.greenMask), field(.blueMask)]
        guard masks.allSatisfy({ $0 != 0 }) else { throw Problem.unsupported("a zero channel mask in \(masks)") }

        // The header's size counts the window name after the fixed fields.
        let colormapStart = Int(field(.headerSize))
        let colorCount = Int(field(.colorCount))
        let pixelStart = colormapStart + 12 * colorCount
        let fileSize = pixelStart + bytesPerLine * height
        guard bytes.count >= fileSize else {
            throw Problem.truncated(what: "\(width)×\(height) pixels, \(bytesPerLine) bytes per line, after \(colorCount) colours",
                                    needs: fileSize, has: bytes.count)
        }

        // Per channel: the mask's shift, and each channel value's 8-bit level. TrueColor pixels
        // hold levels themselves (scaled to 8 bits when the mask is narrower); DirectColor pixels
        // hold per-channel indices into the colormap.
        let shifts = masks.map { $0.trailingZeroBitCount }
        var levels: [[UInt8]] = zip(masks, shifts).map { mask, shift in
            let maximum = Int(mask >> UInt32(shift))
            return (0...maximum).map { UInt8(($0 * 255 + maximum / 2) / maximum) }
        }
        if visualClass == Self.directColor {
            for entry in 0..<colorCount {
                let at = colormapStart + 12 * entry
                let pixel = u32(at)
                for channel in 0..<3 {
                    let index = Int((pixel & masks[channel]) >> UInt32(shifts[channel]))
                    // The colormap holds 16-bit intensities; the top byte is the 8-bit level.
                    levels[channel][index] = UInt8(u16(at + 4 + 2 * channel) >> 8)
                }
            }
        }

        let littleEndian = field(.byteOrder) == Self.lsbFirst
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        bytes.withUnsafeBufferPointer { file in
            rgb.withUnsafeMutableBufferPointer { out in
                for y in 0..<height {
                    var at = pixelStart + y * bytesPerLine + xOffset * bytesPerPixel
                    for x in 0..<width {
                        var pixel: UInt32 = 0
                        for byte in 0..<bytesPerPixel {
                            let value = UInt32(file[at + byte])
                            pixel |= littleEndian ? value << (8 * byte) : value << (8 * (bytesPerPixel - 1 - byte))
                        }
                        at += bytesPerPixel
                        let o = 3 * (y * width + x)
                        for channel in 0..<3 {
                            out[o + channel] = levels[channel][Int((pixel & masks[channel]) >> UInt32(shifts[channel]))]
                        }
                    }
                }
            }
        }
        self.width = width
        self.height = height
        self.rgb = rgb
        windowX = Int(Int32(bitPattern: field(.windowX)))
        windowY = Int(Int32(bitPattern: field(.windowY)))
    }

    /// The pixel at column `x`, row `y`.
    func pixel(x: Int, y: Int) -> (red: UInt8, green: UInt8, blue: UInt8) {
        let o = 3 * (y * width + x)
        return (rgb[o], rgb[o + 1], rgb[o + 2])
    }

    /// The `width` × `height` pixels whose top-left is (`x`, `y`); the rectangle must lie inside.
    func crop(x: Int, y: Int, width: Int, height: Int) -> RGBImage {
        precondition(x >= 0 && y >= 0 && x + width <= self.width && y + height <= self.height,
                     "\(width)×\(height) at (\(x), \(y)) is not inside the \(self.width)×\(self.height) screenshot")
        var pixels: [UInt8] = []
        pixels.reserveCapacity(width * height * 3)
        for row in y..<y + height {
            let start = 3 * (row * self.width + x)
            pixels += rgb[start..<start + 3 * width]
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The whole screenshot, as PNGWriter takes it.
    var image: RGBImage { RGBImage(width: width, height: height, pixels: rgb) }
}
