import Foundation

// The text pipeline in front of CLIP's BPE, as `transformers.CLIPTokenizer` 5.24 runs it (a class
// backed by the `tokenizers` library; transformers 5 has no Python implementation of it any more):
//
// 1. normalizer: NFC, then every run of `\s` becomes one space, then lowercase, scalar by scalar;
// 2. pre-tokenizer: the pieces that CLIP's regex
//    `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
//    matches (what lies between, whitespace, is dropped), each piece then split again by GPT-2's
//    regex (the ByteLevel pre-tokenizer) and turned into UTF-8 bytes. GPT-2's regex has the same
//    classes and splits none of those pieces further, except the two literal special tokens:
//    "<|endoftext|>" becomes "<|", "endoftext", "|>".
//
// The regex is applied by hand: its classes come from the regex engine's Unicode tables, which
// NSRegularExpression (ICU, another Unicode version) does not reproduce, and a scan over scalars is
// also much faster. The literal alternatives matter although special tokens are normally cut out
// before this step: "<|ENDOFTEXT|>", lowercased, reaches the regex, which takes "<|endoftext|>" as
// one piece, so in "<|ENDOFTEXT|>-" the "|>" and "-" stay apart.

/// The Unicode version of the `tokenizers` library's regex engine (Oniguruma) tables.
private let regexUnicodeVersion: Unicode.Version = (major: 16, minor: 0)
/// The Unicode version of the `tokenizers` library's normalization (NFC) tables.
private let normalizationUnicodeVersion: Unicode.Version = (major: 9, minor: 0)

/// What CLIP's pre-tokenizer regex sees in a scalar.
enum ScalarClass {
    case whitespace, letter, number, other
}

extension Unicode.Scalar {
    /// The class of this scalar for the pre-tokenizer regex, with the `tokenizers` library's regex
    /// engine (Oniguruma) tables: `\s` is White_Space, `\p{L}` and `\p{N}` the general categories.
    /// Scalars assigned after `regexUnicodeVersion` are unassigned there, so they count as `other`
    /// even where this toolchain's newer tables call them letters or digits.
    var clipClass: ScalarClass {
        if value < 0x80 {  // ASCII, which most prompts are, without the property lookups
            switch value {
            case 0x09...0x0D, 0x20: return .whitespace
            case 0x30...0x39: return .number
            case 0x41...0x5A, 0x61...0x7A: return .letter
            default: return .other
            }
        }
        let properties = self.properties
        if properties.isWhitespace { return .whitespace }
        if let age = properties.age, age > regexUnicodeVersion { return .other }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }
}

/// CLIP's normalizer: NFC, whitespace runs collapsed to one space, lowercase. (The pre-tokenizer drops
/// whitespace anyway; the collapsing matters to added tokens matched in normalized text.)
func normalizeForCLIP(_ text: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
    var result: [Unicode.Scalar] = []
    result.reserveCapacity(text.count)
    var inWhitespace = false
    for scalar in composeNFC(text) {
        if scalar.clipClass == .whitespace {
            if !inWhitespace { result.append(" ") }
            inWhitespace = true
            continue
        }
        inWhitespace = false
        if scalar.value < 0x80 {
            let isUpper = scalar.value >= 0x41 && scalar.value <= 0x5A
            result.append(isUpper ? Unicode.Scalar(scalar.value + 0x20)! : scalar)
        } else {
            // Per scalar, with the full (SpecialCasing) mappings, as Rust's `char::to_lowercase`:
            // "İ" becomes "i" + U+0307, and a final "Σ" becomes "σ" (no context rules).
            result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
        }
    }
    return result
}

/// NFC as the `tokenizers` library computes it, which is not quite what this toolchain offers:
///
/// - Its tables are `normalizationUnicodeVersion`. A scalar assigned after that has, for it, no
///   decomposition, no composition and combining class 0 — it is a starter that nothing combines
///   with — so such scalars are passed through untouched and the text between them is normalized on
///   its own (U+11935 U+11930 stays as it is there, where Unicode 13 composes it to U+11938).
/// - Foundation's `precomposedStringWithCanonicalMapping` on Linux is wrong in ways that matter
///   here: it drops a supplementary-plane scalar that precedes a combining mark (U+10041 U+0301
///   becomes "Á") and leaves a Hangul LV syllable + trailing jamo uncomposed. The standard
///   library's own NFC (`_nfcCodeUnits`, what `String` comparison uses) gets both right but does
///   not reorder the marks that a decomposition yields (U+A69F U+0F73 must become U+0F71 U+0F72
///   U+A69F); it never meets such a decomposition when given NFD text, which is canonically
///   ordered. So: Foundation's NFD, then the standard library's NFC — checked identical to the
///   `tokenizers` library on 460,000 generated strings of marks, starters, Hangul and
///   supplementary-plane scalars, and over every scalar and its decomposition.
func composeNFC(_ text: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
    // Nothing below U+0300 decomposes or composes with anything else below U+0300: most prompts
    // skip the normalizers altogether.
    if text.allSatisfy({ $0.value < 0x300 }) { return Array(text) }

    var result: [Unicode.Scalar] = []
    result.reserveCapacity(text.count)
    var run = String.UnicodeScalarView()
    func flushRun() {
        guard !run.isEmpty else { return }
        let decomposed = String(run).decomposedStringWithCanonicalMapping
        result.append(contentsOf: String(decoding: decomposed._nfcCodeUnits, as: UTF8.self).unicodeScalars)
        run = String.UnicodeScalarView()
    }
    for scalar in text {
        if let age = scalar.properties.age, age > normalizationUnicodeVersion {
            flushRun()
            result.append(scalar)
        } else {
            run.append(scalar)
        }
    }
    flushRun()
    return result
}

/// Calls `body` with each piece CLIP's pre-tokenizer regex cuts `text` (normalized) into, in order.
func forEachCLIPWord(in text: ArraySlice<Unicode.Scalar>, _ body: (ArraySlice<Unicode.Scalar>) -> Void) {
    var start = text.startIndex
    let end = text.endIndex
    while start < end {
        let scalar = text[start]
        let kind = scalar.clipClass
        var next = start + 1
        if kind == .whitespace {
            start = next
            continue
        }
        if scalar == "<", let letters = specialTokenLetters(text[start...]) {
            body(text[start..<start + 2])  // "<|"
            body(text[start + 2..<letters])  // "startoftext" or "endoftext"
            body(text[letters..<letters + 2])  // "|>"
            start = letters + 2
            continue
        }
        if scalar == "'", let length = contractionLength(text[next...]) {
            // The regex tries the contractions first, so "'s" is a piece even before more letters
            // ("'sun" → "'s", "un"); an apostrophe anywhere else falls into a punctuation run.
            next += length
        } else if kind == .letter {
            while next < end, text[next].clipClass == .letter { next += 1 }
        } else if kind == .other {
            while next < end, text[next].clipClass == .other { next += 1 }
        }
        // A number is a piece on its own: `[\p{N}]` has no `+`.
        body(text[start..<next])
        start = next
    }
}

/// Where the letters of a literal "<|startoftext|>" or "<|endoftext|>" at the start of `text` end.
private func specialTokenLetters(_ text: ArraySlice<Unicode.Scalar>) -> Int? {
    for literal in specialTokenLiterals where text.starts(with: literal) {
        return text.startIndex + literal.count - 2
    }
    return nil
}

private let specialTokenLiterals: [[Unicode.Scalar]] = ["<|startoftext|>", "<|endoftext|>"].map {
    Array($0.unicodeScalars)
}

/// How many scalars after an apostrophe complete one of `'s 't 're 've 'm 'll 'd`, if any.
private func contractionLength(_ rest: ArraySlice<Unicode.Scalar>) -> Int? {
    guard let first = rest.first else { return nil }
    switch first {
    case "s", "t", "m", "d":
        return 1
    case "r", "v", "l":
        let second: Unicode.Scalar = first == "l" ? "l" : "e"
        return rest.dropFirst().first == second ? 2 : nil
    default:
        return nil
    }
}
