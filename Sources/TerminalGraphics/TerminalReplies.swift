/// What a terminal said in answer to `TerminalProbe.queries`, parsed from the raw bytes.
public struct TerminalReplies: Sendable, Equatable {
    /// The kitty graphics query was answered "OK".
    public var kittyGraphics = false
    /// Primary Device Attributes (`CSI ? … c`) arrived; every terminal answers it, so it ends the wait.
    public var deviceAttributesSeen = false
    /// Attribute 4 in the Primary Device Attributes: sixel graphics.
    public var sixel = false
    /// XTVERSION's name and version ("kitty(0.26.5)", "XTerm(379)", "WezTerm 20240203…").
    public var terminalVersion: String?
    /// `CSI 16 t`: the cell size in pixels.
    public var cellSize: CellSize?
    /// `CSI 14 t`: the text area's size in pixels.
    public var textAreaPixels: (width: Int, height: Int)?

    public init() {}

    public static func == (a: TerminalReplies, b: TerminalReplies) -> Bool {
        a.kittyGraphics == b.kittyGraphics && a.deviceAttributesSeen == b.deviceAttributesSeen
            && a.sixel == b.sixel && a.terminalVersion == b.terminalVersion && a.cellSize == b.cellSize
            && a.textAreaPixels?.width == b.textAreaPixels?.width
            && a.textAreaPixels?.height == b.textAreaPixels?.height
    }

    /// Parses every complete reply in `bytes`; anything else (keys typed meanwhile) is skipped.
    public init(parsing bytes: [UInt8]) {
        var i = 0
        while i < bytes.count {
            guard bytes[i] == 0x1B, i + 1 < bytes.count else {
                i += 1
                continue
            }
            switch bytes[i + 1] {
            case UInt8(ascii: "["):
                // CSI: parameters and intermediates up to a final byte 0x40…0x7E.
                var end = i + 2
                while end < bytes.count, !(0x40...0x7E).contains(bytes[end]) { end += 1 }
                guard end < bytes.count else { return }
                parseControlSequence(Array(bytes[(i + 2)..<end]), final: bytes[end])
                i = end + 1
            case UInt8(ascii: "_"), UInt8(ascii: "P"):
                // APC or DCS: up to the string terminator ESC \.
                var end = i + 2
                while end + 1 < bytes.count, !(bytes[end] == 0x1B && bytes[end + 1] == 0x5C) { end += 1 }
                guard end + 1 < bytes.count else { return }
                let body = String(decoding: bytes[(i + 2)..<end], as: UTF8.self)
                if bytes[i + 1] == UInt8(ascii: "_") {
                    // Kitty: "Gi=31;OK" (or an error such as "Gi=31;ENOTSUPPORTED:…").
                    if body.hasPrefix("G"), body.contains("i=31"), body.hasSuffix(";OK") { kittyGraphics = true }
                } else if body.hasPrefix(">|") {
                    terminalVersion = String(body.dropFirst(2))
                }
                i = end + 2
            default:
                i += 2
            }
        }
    }

    private mutating func parseControlSequence(_ parameters: [UInt8], final: UInt8) {
        let text = String(decoding: parameters, as: UTF8.self)
        switch final {
        case UInt8(ascii: "c") where text.hasPrefix("?"):
            deviceAttributesSeen = true
            sixel = text.dropFirst().split(separator: ";").contains("4")
        case UInt8(ascii: "t"):
            let numbers = text.split(separator: ";").compactMap { Int($0) }
            guard numbers.count == 3, numbers[1] > 0, numbers[2] > 0 else { return }
            if numbers[0] == 6 { cellSize = CellSize(width: numbers[2], height: numbers[1]) }
            if numbers[0] == 4 { textAreaPixels = (numbers[2], numbers[1]) }
        default:
            break
        }
    }
}
