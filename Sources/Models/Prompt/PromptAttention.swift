import Foundation

/// AUTOMATIC1111's emphasis syntax, read the way its web UI reads it, so that a prompt written for
/// A1111 means the same here:
///
///     (word)       weight × 1.1          ((word))   × 1.1²
///     (word:1.3)   weight × 1.3          [word]     ÷ 1.1
///     \( \) \[ \]  the bracket itself    \\         a backslash
///     BREAK        start a new 75-token chunk (upper case, a word of its own)
///
/// Its quirks are kept on purpose, because prompts in the wild rely on them: an opening bracket
/// never closed weighs everything after it; a closing bracket never opened is plain text; a lone
/// backslash vanishes; runs of equal weight are joined before tokenizing (so `(a)(b)` is one
/// fragment "ab"); and a BREAK inside brackets is weighted like the words around it, which turns
/// it into the word "BREAK" with a negative weight rather than a chunk break. Prompt editing
/// (`[a:b:0.5]`), alternation (`[a|b]`) and `AND` are not A1111 emphasis and stay plain text.
public enum PromptAttention {
    /// One run of the parsed prompt.
    public enum Fragment: Equatable, Sendable {
        /// Text and the product of the weights of the brackets around it.
        case text(String, weight: Double)
        /// A `BREAK` outside brackets.
        case chunkBreak
    }

    /// A weight that is not a number, such as `(word:1.2.3)`. A1111 stops with a Python
    /// `ValueError` there; so do we, with the text at fault.
    public struct InvalidWeight: Error, CustomStringConvertible, Equatable {
        public let weight: String
        public var description: String { "'\(weight)' in '(…:\(weight))' is not a number" }
    }

    private static let roundMultiplier = 1.1
    private static let squareMultiplier = 1 / 1.1
    /// How A1111 marks a BREAK among weighted runs; only one still at exactly -1 (outside any
    /// brackets) breaks the chunk.
    private static let breakMarker = (text: "BREAK", weight: -1.0)

    /// `prompt` as runs of weighted text and chunk breaks; never empty (an empty prompt is one
    /// empty run of weight 1).
    public static func parse(_ prompt: String) throws -> [Fragment] {
        // Weights are Doubles multiplied in the order A1111 multiplies Python floats (innermost
        // bracket first), so equal-weight runs join exactly where A1111 joins them.
        var runs: [(text: String, weight: Double)] = []
        var roundOpen: [Int] = [], squareOpen: [Int] = []
        func multiply(from start: Int, by multiplier: Double) {
            for i in start..<runs.count { runs[i].weight *= multiplier }
        }
        func appendText(_ text: Substring) {
            for (i, part) in splitOnBreak(text).enumerated() {
                if i > 0 { runs.append(breakMarker) }
                runs.append((String(part), 1))
            }
        }

        let scalars = prompt.unicodeScalars
        var i = scalars.startIndex
        while i < scalars.endIndex {
            let c = scalars[i]
            let next = scalars.index(after: i)
            switch c {
            case "\\":
                // `\(`, `\)`, `\[`, `\]`, `\\` stand for the second character; a backslash before
                // anything else (or at the end) is dropped, leaving an empty run.
                if next < scalars.endIndex, "()[]\\".unicodeScalars.contains(scalars[next]) {
                    runs.append((String(scalars[next]), 1))
                    i = scalars.index(after: next)
                } else {
                    runs.append(("", 1))
                    i = next
                }
            case "(":
                roundOpen.append(runs.count)
                i = next
            case "[":
                squareOpen.append(runs.count)
                i = next
            case ":":
                if let (number, end) = weightSuffix(scalars, after: i) {
                    if let start = roundOpen.popLast() {
                        multiply(from: start, by: try parseWeight(number))
                    } else {
                        appendText(Substring(scalars[i..<end]))  // `:1.2)` with no `(` open is text
                    }
                    i = end
                } else {
                    appendText(":")
                    i = next
                }
            case ")" where !roundOpen.isEmpty:
                multiply(from: roundOpen.removeLast(), by: roundMultiplier)
                i = next
            case "]" where !squareOpen.isEmpty:
                multiply(from: squareOpen.removeLast(), by: squareMultiplier)
                i = next
            case ")", "]":
                appendText(Substring(String(c)))
                i = next
            default:
                // Plain text runs up to the next character with a meaning.
                var end = next
                while end < scalars.endIndex, !"\\()[]:".unicodeScalars.contains(scalars[end]) {
                    end = scalars.index(after: end)
                }
                appendText(Substring(scalars[i..<end]))
                i = end
            }
        }
        // Brackets left open weigh everything after them, in the order they were opened.
        for start in roundOpen { multiply(from: start, by: roundMultiplier) }
        for start in squareOpen { multiply(from: start, by: squareMultiplier) }
        if runs.isEmpty { runs = [("", 1)] }

        var joined: [(text: String, weight: Double)] = []
        for run in runs {
            if let last = joined.last, last.weight == run.weight {
                joined[joined.count - 1].text += run.text
            } else {
                joined.append(run)
            }
        }
        return joined.map { run in
            run.text == breakMarker.text && run.weight == breakMarker.weight
                ? .chunkBreak : .text(run.text, weight: run.weight)
        }
    }

    /// After the `:` at `colon`: optional whitespace, an optional sign, digits and dots,
    /// optional whitespace and `)`. Returns the sign-digits-dots text and the index after `)`.
    private static func weightSuffix(_ s: String.UnicodeScalarView, after colon: String.UnicodeScalarView.Index)
        -> (String, String.UnicodeScalarView.Index)?
    {
        var i = s.index(after: colon)
        while i < s.endIndex, isPythonWhitespace(s[i]) { i = s.index(after: i) }
        let numberStart = i
        if i < s.endIndex, s[i] == "+" || s[i] == "-" { i = s.index(after: i) }
        let digitsStart = i
        while i < s.endIndex, s[i] == "." || isDecimalDigit(s[i]) { i = s.index(after: i) }
        guard i > digitsStart else { return nil }
        let number = String(s[numberStart..<i])
        while i < s.endIndex, isPythonWhitespace(s[i]) { i = s.index(after: i) }
        guard i < s.endIndex, s[i] == ")" else { return nil }
        return (number, s.index(after: i))
    }

    /// Python's `float()` of sign, digits and dots: at most one dot and at least one digit.
    /// Digits of other scripts count as their values, as Python reads them.
    private static func parseWeight(_ text: String) throws -> Double {
        var ascii = ""
        for scalar in text.unicodeScalars {
            if let value = scalar.properties.numericType == .decimal ? scalar.properties.numericValue : nil {
                ascii += String(Int(value))
            } else {
                ascii.unicodeScalars.append(scalar)
            }
        }
        let dots = ascii.filter { $0 == "." }.count
        guard dots <= 1, ascii.contains(where: \.isNumber), let value = Double(ascii) else {
            throw InvalidWeight(weight: text)
        }
        return value
    }

    /// Python's `re.split(r"\s*\bBREAK\b\s*", text)`: BREAK as a whole word, with the whitespace
    /// around it, separates parts (empty parts included).
    static func splitOnBreak(_ text: Substring) -> [Substring] {
        let s = Array(text.unicodeScalars)
        let keyword = Array("BREAK".unicodeScalars)
        var parts: [Substring] = []
        var partStart = 0
        var i = 0
        // Where the whitespace run containing position i ends (reused across the run).
        var spaceEnd = 0
        while i < s.count {
            if i >= spaceEnd {
                spaceEnd = i
                while spaceEnd < s.count, isPythonWhitespace(s[spaceEnd]) { spaceEnd += 1 }
            }
            let word = i < spaceEnd ? spaceEnd : i
            let matches = word + keyword.count <= s.count
                && Array(s[word..<word + keyword.count]) == keyword
                && (word == 0 || !isPythonWordCharacter(s[word - 1]))
                && (word + keyword.count == s.count || !isPythonWordCharacter(s[word + keyword.count]))
            if matches {
                var end = word + keyword.count
                while end < s.count, isPythonWhitespace(s[end]) { end += 1 }
                parts.append(substring(text, scalars: partStart..<i))
                partStart = end
                i = end
                spaceEnd = end
            } else {
                i += 1
            }
        }
        parts.append(substring(text, scalars: partStart..<s.count))
        return parts
    }

    private static func substring(_ text: Substring, scalars range: Range<Int>) -> Substring {
        let view = text.unicodeScalars
        let start = view.index(view.startIndex, offsetBy: range.lowerBound)
        let end = view.index(start, offsetBy: range.count)
        return Substring(view[start..<end])
    }

    /// Python's `\s` on str: Unicode White_Space, plus the information separators U+001C…U+001F.
    private static func isPythonWhitespace(_ c: Unicode.Scalar) -> Bool {
        c.properties.isWhitespace || (0x1C...0x1F).contains(c.value)
    }

    /// Python's `\d` on str: any decimal digit (Unicode category Nd).
    private static func isDecimalDigit(_ c: Unicode.Scalar) -> Bool {
        c.properties.generalCategory == .decimalNumber
    }

    /// Python's `\w` on str: letters, numbers and the underscore.
    private static func isPythonWordCharacter(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return c == "_"
        }
    }
}
