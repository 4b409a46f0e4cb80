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
    /// Everything that was not a reply, in order: keys the user typed meanwhile, to be handed on.
    public var typed: [UInt8] = []

    public init() {}

    public static func == (a: TerminalReplies, b: TerminalReplies) -> Bool {
        a.kittyGraphics == b.kittyGraphics && a.deviceAttributesSeen == b.deviceAttributesSeen
            && a.sixel == b.sixel && a.terminalVersion == b.terminalVersion && a.cellSize == b.cellSize
            && a.textAreaPixels?.width == b.textAreaPixels?.width
            && a.textAreaPixels?.height == b.textAreaPixels?.height && a.typed == b.typed
    }

    /// Parses every complete reply in `bytes`; anything else (keys typed meanwhile, a reply cut
    /// short) goes to `typed`.
    public init(parsing bytes: [UInt8]) {
        var i = 0
        while i < bytes.count {
            guard bytes[i] == 0x1B, i + 1 < bytes.count else {
                typed.append(bytes[i])
                i += 1
                continue
            }
            var end = i + 2
            var isReply = false
            switch bytes[i + 1] {
            case UInt8(ascii: "["):
                // CSI: parameters and intermediates up to a final byte 0x40…0x7E.
                while end < bytes.count, !(0x40...0x7E).contains(bytes[end]) { end += 1 }
                guard end < bytes.count else { break }
                isReply = parseControlSequence(Array(bytes[(i + 2)..<end]), final: bytes[end])
                end += 1
            case UInt8(ascii: "_"), UInt8(ascii: "P"):
                // APC or DCS: up to the string terminator ESC \.
                while end + 1 < bytes.count, !(bytes[end] == 0x1B && bytes[end + 1] == 0x5C) { end += 1 }
                guard end + 1 < bytes.count else {
                    end = bytes.count
                    break
                }
                let body = String(decoding: bytes[(i + 2)..<end], as: UTF8.self)
                if bytes[i + 1] == UInt8(ascii: "_") {
                    // Kitty: "Gi=31;OK" (or an error such as "Gi=31;ENOTSUPPORTED:…").
                    isReply = body.hasPrefix("G") && body.contains("i=31")
                    if isReply && body.hasSuffix(";OK") { kittyGraphics = true }
                } else if body.hasPrefix(">|") {
                    terminalVersion = String(body.dropFirst(2))
                    isReply = true
                }
                end += 2
            default:
                break
            }
            if !isReply { typed += bytes[i..<min(end, bytes.count)] }
            i = min(end, bytes.count)
        }
    }

    /// Records a reply to one of the queries; false for any other sequence (an arrow key).
    private mutating func parseControlSequence(_ parameters: [UInt8], final: UInt8) -> Bool {
        let text = String(decoding: parameters, as: UTF8.self)
        switch final {
        case UInt8(ascii: "c") where text.hasPrefix("?"):
            deviceAttributesSeen = true
            sixel = text.dropFirst().split(separator: ";").contains("4")
            return true
        case UInt8(ascii: "t"):
            let numbers = text.split(separator: ";").compactMap { Int($0) }
            guard numbers.count == 3, [4, 6].contains(numbers[0]) else { return false }
            if numbers[0] == 6, numbers[1] > 0, numbers[2] > 0 { cellSize = CellSize(width: numbers[2], height: numbers[1]) }
            if numbers[0] == 4, numbers[1] > 0, numbers[2] > 0 { textAreaPixels = (numbers[2], numbers[1]) }
            return true
        default:
            return false
        }
    }
}
