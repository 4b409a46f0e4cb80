/// A picture as terminal text: each cell is `▀` with the upper pixel as foreground colour and the
/// lower pixel as background, so a cell holds two square-ish pixels (cells are about twice as
/// tall as wide). Colours are SGR escapes, written straight to the terminal: with 24-bit colour
/// ncurses would need a colour pair per distinct (fg, bg), and pairs run out at 65,536.
public struct HalfBlockPicture: Sendable, Equatable {
    public enum ColorDepth: Sendable, Equatable {
        /// `ESC[38;2;r;g;bm`, for terminals that say so (COLORTERM, terminfo RGB).
        case trueColor
        /// The nearest entry of xterm's 256-colour palette (`ESC[38;5;nm`).
        case palette256
    }

    /// One string per terminal row, each `columns` cells wide, ending with an SGR reset.
    public let lines: [String]
    /// Cells, after scaling to fit with the aspect ratio kept.
    public let columns: Int
    public let rows: Int

    /// Scales `pixels` ([height, width, 3] bytes, R G B) to fit `maxColumns` × `maxRows` cells,
    /// averaging the source pixels under each output pixel when shrinking.
    public init(width: Int, height: Int, pixels: [UInt8], maxColumns: Int, maxRows: Int, depth: ColorDepth) {
        precondition(pixels.count == width * height * 3, "\(width)×\(height) RGB needs \(width * height * 3) bytes")
        guard width > 0, height > 0, maxColumns > 0, maxRows > 0 else {
            (lines, columns, rows) = ([], 0, 0)
            return
        }
        // Output pixels: one per column, two per row.
        let scale = min(Double(maxColumns) / Double(width), Double(2 * maxRows) / Double(height))
        let outWidth = max(1, min(maxColumns, Int(Double(width) * scale)))
        let outHeight = max(1, min(2 * maxRows, Int(Double(height) * scale)))
        let sampled = Self.resample(width: width, height: height, pixels: pixels, to: outWidth, outHeight)

        var lines: [String] = []
        for row in stride(from: 0, to: outHeight, by: 2) {
            var line = ""
            var last: (fg: RGB, bg: RGB?)?
            for column in 0..<outWidth {
                let top = sampled[row * outWidth + column]
                // An odd pixel height leaves the last row's lower half to the terminal's background.
                let bottom = row + 1 < outHeight ? sampled[(row + 1) * outWidth + column] : nil
                if last?.fg != top { line += Self.escape(top, foreground: true, depth) }
                if last == nil || last!.bg != bottom {
                    line += bottom.map { Self.escape($0, foreground: false, depth) } ?? "\u{1B}[49m"
                }
                line += "▀"
                last = (top, bottom)
            }
            lines.append(line + "\u{1B}[0m")
        }
        self.lines = lines
        columns = outWidth
        rows = lines.count
    }

    struct RGB: Equatable {
        var r: UInt8, g: UInt8, b: UInt8
    }

    /// Box filter: each output pixel averages the source pixels it covers (at least one).
    private static func resample(width: Int, height: Int, pixels: [UInt8], to outWidth: Int, _ outHeight: Int) -> [RGB] {
        var out: [RGB] = []
        out.reserveCapacity(outWidth * outHeight)
        for oy in 0..<outHeight {
            let y0 = oy * height / outHeight, y1 = max(y0 + 1, (oy + 1) * height / outHeight)
            for ox in 0..<outWidth {
                let x0 = ox * width / outWidth, x1 = max(x0 + 1, (ox + 1) * width / outWidth)
                var sum = (0, 0, 0)
                for y in y0..<y1 {
                    for x in x0..<x1 {
                        let i = (y * width + x) * 3
                        sum.0 += Int(pixels[i])
                        sum.1 += Int(pixels[i + 1])
                        sum.2 += Int(pixels[i + 2])
                    }
                }
                let n = (y1 - y0) * (x1 - x0)
                out.append(RGB(r: UInt8((sum.0 + n / 2) / n), g: UInt8((sum.1 + n / 2) / n), b: UInt8((sum.2 + n / 2) / n)))
            }
        }
        return out
    }

    private static func escape(_ color: RGB, foreground: Bool, _ depth: ColorDepth) -> String {
        let layer = foreground ? 38 : 48
        switch depth {
        case .trueColor: return "\u{1B}[\(layer);2;\(color.r);\(color.g);\(color.b)m"
        case .palette256: return "\u{1B}[\(layer);5;\(paletteIndex(red: color.r, green: color.g, blue: color.b))m"
        }
    }

    /// The nearest of xterm's 6×6×6 colour cube (16…231, levels 0, 95, 135, …, 255) and its
    /// 24-step grey ramp (232…255, 8 + 10·i). The first 16 entries are skipped: terminals theme them.
    public static func paletteIndex(red: UInt8, green: UInt8, blue: UInt8) -> Int {
        let color = RGB(r: red, g: green, b: blue)
        let levels = [0, 95, 135, 175, 215, 255]
        func nearestLevel(_ v: UInt8) -> Int {
            levels.indices.min { abs(levels[$0] - Int(v)) < abs(levels[$1] - Int(v)) }!
        }
        func distance(_ r: Int, _ g: Int, _ b: Int) -> Int {
            let dr = r - Int(color.r), dg = g - Int(color.g), db = b - Int(color.b)
            return dr * dr + dg * dg + db * db
        }
        let (ri, gi, bi) = (nearestLevel(color.r), nearestLevel(color.g), nearestLevel(color.b))
        let cubeDistance = distance(levels[ri], levels[gi], levels[bi])
        let average = (Int(color.r) + Int(color.g) + Int(color.b)) / 3
        let greyStep = min(23, max(0, (average - 3) / 10))
        let grey = 8 + 10 * greyStep
        return distance(grey, grey, grey) < cubeDistance ? 232 + greyStep : 16 + 36 * ri + 6 * gi + bi
    }
}
