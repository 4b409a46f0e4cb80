/// tmux forwards a sequence to the terminal outside it only when wrapped as
/// `ESC P tmux ; … ESC \` with every ESC inside doubled, and only with `allow-passthrough` on.
enum TmuxPassthrough {
    static func wrap(_ sequence: ArraySlice<UInt8>) -> [UInt8] {
        var out = Array("\u{1B}Ptmux;".utf8)
        out.reserveCapacity(sequence.count + sequence.count / 64 + 10)
        for byte in sequence {
            if byte == 0x1B { out.append(0x1B) }
            out.append(byte)
        }
        out += [0x1B, 0x5C]
        return out
    }

    /// Wraps each escape sequence of `bytes` on its own (a kitty image is many APC chunks; tmux
    /// limits the size of one passthrough), leaving the bytes between sequences as they are.
    static func wrapEach(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            guard bytes[i] == 0x1B, i + 1 < bytes.count else {
                out.append(bytes[i])
                i += 1
                continue
            }
            // A string sequence (APC, DCS, OSC) runs to ESC \ (or BEL for OSC).
            var end = i + 2
            while end < bytes.count {
                if bytes[end] == 0x07 && bytes[i + 1] == UInt8(ascii: "]") { end += 1; break }
                if bytes[end] == 0x1B && end + 1 < bytes.count && bytes[end + 1] == 0x5C { end += 2; break }
                end += 1
            }
            out += wrap(bytes[i..<min(end, bytes.count)])
            i = end
        }
        return out
    }
}
