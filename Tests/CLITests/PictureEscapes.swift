import Foundation
import ImageIO

/// Pictures written in terminals' graphics protocols by hand, so terminal tests can check the
/// harness against a known drawing before `imagine show` draws anything.
enum PictureEscapes {
    struct TooManyColours: Error, CustomStringConvertible {
        let count: Int
        var description: String { "a sixel picture has at most 256 colours here, this one has \(count)" }
    }

    /// DEC sixel: one colour register per distinct colour (at most 256, the number of registers
    /// the xterm screen has), then the picture in bands 6 pixels tall; in each band, one pass per
    /// colour, whose characters set the band's pixels of that colour (bit k: the band's row k).
    /// Registers take RGB in percent, so a level survives exactly when it is a multiple of 2.55
    /// (0 and 255 always do).
    static func sixel(_ image: RGBImage) throws -> [UInt8] {
        var registers: [[UInt8]: Int] = [:]
        var colourAt = [Int](repeating: 0, count: image.width * image.height)
        for i in 0..<image.width * image.height {
            let colour = Array(image.pixels[3 * i..<3 * i + 3])
            if registers[colour] == nil { registers[colour] = registers.count }
            colourAt[i] = registers[colour]!
        }
        guard registers.count <= 256 else { throw TooManyColours(count: registers.count) }

        // DCS P1;P2;P3 q: P2 = 1 leaves pixels no pass sets as they were. The raster attributes
        // ("Pan;Pad;Ph;Pv) say square pixels and the picture's size.
        var text = "\u{1B}P0;1;0q\"1;1;\(image.width);\(image.height)"
        for (colour, register) in registers.sorted(by: { $0.value < $1.value }) {
            let percent = colour.map { (Int($0) * 100 + 127) / 255 }
            text += "#\(register);2;\(percent[0]);\(percent[1]);\(percent[2])"
        }
        for bandTop in stride(from: 0, to: image.height, by: 6) {
            let bandRows = bandTop..<min(bandTop + 6, image.height)
            let inBand = Set(bandRows.flatMap { y in (0..<image.width).map { colourAt[y * image.width + $0] } })
            for (pass, register) in inBand.sorted().enumerated() {
                if pass > 0 { text += "$" }  // back to the band's left edge
                let characters = (0..<image.width).map { x in
                    bandRows.reduce(0) { bits, y in
                        colourAt[y * image.width + x] == register ? bits | 1 << (y - bandTop) : bits
                    }
                }
                text += "#\(register)" + runLengthEncoded(characters.map { Character(UnicodeScalar(63 + $0)!) })
            }
            text += "-"  // to the next band
        }
        text += "\u{1B}\\"
        return Array(text.utf8)
    }

    /// Sixel's repeat introducer: `!` count character for runs long enough to gain from it.
    private static func runLengthEncoded(_ characters: [Character]) -> String {
        var text = ""
        var i = 0
        while i < characters.count {
            var end = i
            while end < characters.count && characters[end] == characters[i] { end += 1 }
            let run = end - i
            text += run > 3 ? "!\(run)\(characters[i])" : String(repeating: characters[i], count: run)
            i = end
        }
        return text
    }

    /// kitty's graphics protocol: transmit and display (`a=T`) 24-bit RGB (`f=24`) of the given
    /// size, base64 encoded, in chunks of at most 4096 bytes, as kitty requires (`m=1`: more
    /// follow). `q=2`: no reply, which nothing would read.
    static func kitty(_ image: RGBImage) -> [UInt8] {
        let encoded = Array(Data(image.pixels).base64EncodedString().utf8)
        var bytes: [UInt8] = []
        for start in stride(from: 0, to: encoded.count, by: 4096) {
            let end = min(start + 4096, encoded.count)
            let more = end < encoded.count ? 1 : 0
            let control = start == 0 ? "a=T,f=24,s=\(image.width),v=\(image.height),q=2,m=\(more)" : "m=\(more)"
            bytes += Array("\u{1B}_G\(control);".utf8) + encoded[start..<end] + Array("\u{1B}\\".utf8)
        }
        return bytes
    }

    /// Vertical bands of `colours` (RGB), each `bandWidth` pixels wide, `height` pixels tall.
    static func bands(_ colours: [[UInt8]], bandWidth: Int, height: Int) -> RGBImage {
        let row = colours.flatMap { colour in (0..<bandWidth).flatMap { _ in colour } }
        return RGBImage(width: colours.count * bandWidth, height: height,
                        pixels: (0..<height).flatMap { _ in row })
    }
}
