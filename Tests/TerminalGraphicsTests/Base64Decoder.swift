enum Base64Error: Error, Equatable, CustomStringConvertible {
    case invalidCharacter(UInt8, offset: Int)
    /// One character left over: it carries 6 bits, not enough for a byte.
    case danglingCharacter(count: Int)
    /// '=' somewhere other than the last one or two places.
    case misplacedPadding(offset: Int)

    var description: String {
        switch self {
        case let .invalidCharacter(byte, offset):
            "byte \(byte) (\(Unicode.Scalar(byte).escaped(asASCII: true))) at offset \(offset) is not base64"
        case let .danglingCharacter(count):
            "\(count) base64 characters leave one over (count % 4 == 1), which cannot encode a byte"
        case let .misplacedPadding(offset):
            "padding '=' at offset \(offset) is not at the end"
        }
    }
}

/// The standard alphabet (RFC 4648 §4), padded or not.
///
/// Bits past the last whole byte are ignored rather than rejected: libchafa before 1.16 fills them
/// with the last byte's low bits when a chunk's length is 2 mod 3, and kitty and iTerm2 accept that.
enum Base64Decoder {
    static func decode(_ text: some Collection<UInt8>) throws -> [UInt8] {
        let characters = Array(text)
        var significant = characters.count
        while significant > 0 && characters[significant - 1] == UInt8(ascii: "=") && characters.count - significant < 2 {
            significant -= 1
        }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(significant * 3 / 4)
        var accumulator: UInt32 = 0
        var bitCount = 0
        for offset in 0..<significant {
            let character = characters[offset]
            guard let sextet = value(of: character) else {
                if character == UInt8(ascii: "=") { throw Base64Error.misplacedPadding(offset: offset) }
                throw Base64Error.invalidCharacter(character, offset: offset)
            }
            accumulator = accumulator << 6 | UInt32(sextet)
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                bytes.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bitCount)))
                accumulator &= (1 << UInt32(bitCount)) - 1
            }
        }
        // Checked last so that a stray character is reported as itself, not as a bad length.
        guard significant % 4 != 1 else { throw Base64Error.danglingCharacter(count: significant) }
        return bytes
    }

    private static func value(of character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
