/// What may go into the prompt line, and the form of it that is rendered.
public enum PromptText {
    /// Raw input bytes (a paste burst) as text: valid UTF-8 sequences are kept, each byte of an
    /// invalid or truncated sequence is dropped, and so are control characters. A prompt is one
    /// line, so newlines and tabs of a pasted paragraph become spaces.
    public static func sanitized(bytes: [UInt8]) -> String {
        var scalars = String.UnicodeScalarView()
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): scalars.append(scalar)
            case .error: continue  // the decoder has consumed the bad bytes
            case .emptyInput: break decoding
            }
        }
        return sanitized(String(scalars))
    }

    /// The same cleaning for text that arrived already decoded (ncurses' wide-character input).
    public static func sanitized(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control:
                if scalar == "\n" || scalar == "\t" || scalar == "\r" { scalars.append(" ") }
            default: scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    /// The prompt as rendered: runs of whitespace collapsed and the ends trimmed. The tokenizer
    /// ignores exactly these differences, so typing a space does not start a render that would
    /// draw the same picture.
    public static func normalized(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
