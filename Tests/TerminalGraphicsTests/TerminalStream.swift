/// One piece of a terminal byte stream, cut where a terminal's parser would cut it (ECMA-48 §5,
/// 7-bit forms only: ESC [, ESC P, ESC ], ESC _, ESC ^, ESC X, each string ended by ESC \).
struct TerminalSequence: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// Printable bytes and C0 controls other than ESC.
        case text
        /// CSI: cursor moves, colours, erasing.
        case controlSequence
        /// Any other ESC sequence (ESC 7, ESC ( B, …).
        case escape
        case deviceControlString       // ESC P: sixel images
        case operatingSystemCommand    // ESC ]: iTerm2 inline files
        case applicationProgramCommand // ESC _: kitty graphics
        case privacyMessage            // ESC ^
        case startOfString             // ESC X
    }

    var kind: Kind
    /// Where the sequence starts in the stream.
    var offset: Int
    /// The whole sequence, introducer and terminator included.
    var bytes: ArraySlice<UInt8>
    /// For strings, what lies between introducer and terminator; for CSI, the parameters and final
    /// byte; for text, the text; for other escapes, the bytes after ESC.
    var body: ArraySlice<UInt8>
}

enum TerminalStreamError: Error, Equatable, CustomStringConvertible {
    /// The stream ends inside a sequence that began at `offset`.
    case truncated(TerminalSequence.Kind, offset: Int, bytesSeen: Int)
    /// An ESC other than the one in ESC \ inside a string: terminals abandon the string there.
    case interruptedString(TerminalSequence.Kind, offset: Int, escapeAt: Int)

    var description: String {
        switch self {
        case let .truncated(kind, offset, bytesSeen):
            "the stream ends inside a \(kind) that starts at byte \(offset) (\(bytesSeen) bytes seen, no terminator)"
        case let .interruptedString(kind, offset, escapeAt):
            "the \(kind) starting at byte \(offset) is interrupted by ESC at byte \(escapeAt) not followed by \\"
        }
    }
}

enum TerminalStream {
    static let escape: UInt8 = 0x1B
    static let bell: UInt8 = 0x07

    /// Cuts `stream` into text and escape sequences; concatenating their `bytes` gives back the stream.
    static func split(_ stream: [UInt8]) throws -> [TerminalSequence] {
        var sequences: [TerminalSequence] = []
        var position = 0
        while position < stream.count {
            let start = position
            guard stream[position] == escape else {
                while position < stream.count && stream[position] != escape { position += 1 }
                sequences.append(TerminalSequence(kind: .text, offset: start, bytes: stream[start..<position],
                                                  body: stream[start..<position]))
                continue
            }
            guard position + 1 < stream.count else {
                throw TerminalStreamError.truncated(.escape, offset: start, bytesSeen: 1)
            }
            let sequence: TerminalSequence
            switch stream[position + 1] {
            case UInt8(ascii: "["): sequence = try controlSequence(in: stream, at: start)
            case UInt8(ascii: "P"): sequence = try string(.deviceControlString, in: stream, at: start)
            case UInt8(ascii: "]"): sequence = try string(.operatingSystemCommand, in: stream, at: start)
            case UInt8(ascii: "_"): sequence = try string(.applicationProgramCommand, in: stream, at: start)
            case UInt8(ascii: "^"): sequence = try string(.privacyMessage, in: stream, at: start)
            case UInt8(ascii: "X"): sequence = try string(.startOfString, in: stream, at: start)
            default: sequence = try otherEscape(in: stream, at: start)
            }
            sequences.append(sequence)
            position = sequence.bytes.endIndex
        }
        return sequences
    }

    /// ESC [, parameter bytes 0x30–0x3F, intermediate bytes 0x20–0x2F, one final byte 0x40–0x7E.
    private static func controlSequence(in stream: [UInt8], at start: Int) throws -> TerminalSequence {
        var position = start + 2
        while position < stream.count && (0x20...0x3F).contains(stream[position]) { position += 1 }
        guard position < stream.count else {
            throw TerminalStreamError.truncated(.controlSequence, offset: start, bytesSeen: position - start)
        }
        return TerminalSequence(kind: .controlSequence, offset: start, bytes: stream[start...position],
                                body: stream[start + 2...position])
    }

    /// ESC, intermediate bytes 0x20–0x2F, one final byte.
    private static func otherEscape(in stream: [UInt8], at start: Int) throws -> TerminalSequence {
        var position = start + 1
        while position < stream.count && (0x20...0x2F).contains(stream[position]) { position += 1 }
        guard position < stream.count else {
            throw TerminalStreamError.truncated(.escape, offset: start, bytesSeen: position - start)
        }
        return TerminalSequence(kind: .escape, offset: start, bytes: stream[start...position],
                                body: stream[start + 1...position])
    }

    /// A string runs to ESC \; an OSC may also end at BEL, as xterm allows and iTerm2 documents.
    private static func string(_ kind: TerminalSequence.Kind, in stream: [UInt8], at start: Int) throws
        -> TerminalSequence
    {
        var position = start + 2
        while position < stream.count {
            if stream[position] == bell && kind == .operatingSystemCommand {
                return TerminalSequence(kind: kind, offset: start, bytes: stream[start...position],
                                        body: stream[start + 2..<position])
            }
            if stream[position] == escape {
                guard position + 1 < stream.count else { break }
                guard stream[position + 1] == UInt8(ascii: "\\") else {
                    throw TerminalStreamError.interruptedString(kind, offset: start, escapeAt: position)
                }
                return TerminalSequence(kind: kind, offset: start, bytes: stream[start...position + 1],
                                        body: stream[start + 2..<position])
            }
            position += 1
        }
        throw TerminalStreamError.truncated(kind, offset: start, bytesSeen: stream.count - start)
    }
}
