import Foundation

/// A prompt as CLIP's text encoder takes it: BOS, the prompt's tokens, EOS, then padding, always
/// `maxLength` ids.
public struct TokenizedPrompt: Sendable, Equatable {
    /// Exactly `maxLength` ids: BOS … EOS, then the pad id.
    public let ids: [Int32]
    /// How many ids the prompt needs untruncated, BOS and EOS included.
    public let tokenCount: Int
    public let maxLength: Int

    /// Whether the prompt lost tokens to fit: its end was cut, EOS kept as the last id.
    public var wasTruncated: Bool { tokenCount > maxLength }
    /// The index of the closing EOS in `ids` (the first padding id follows it). Text encoders pool
    /// the hidden state there. An `<|endoftext|>` typed in the prompt itself comes earlier.
    public var eosPosition: Int { min(tokenCount, maxLength) - 1 }
}

/// CLIP's byte-level BPE tokenizer, giving the ids `transformers.CLIPTokenizer.from_pretrained(folder)`
/// gives (transformers 5.24, the `tokenizers`-backed class diffusers' pipelines use) with
/// `max_length=77, padding="max_length", truncation=True`.
///
/// A prompt goes through these steps (see TextNormalization.swift and BytePairEncoding.swift):
/// 1. added tokens matched in the raw text (special tokens given as plain strings) are cut out;
/// 2. the rest is normalized (NFC, whitespace, lowercase), then added tokens matched in normalized
///    text are cut out;
/// 3. the rest is split into words by CLIP's regex, and each word's UTF-8 bytes are BPE-encoded with
///    `</w>` on the last symbol.
public struct CLIPTokenizer: Sendable {
    /// The number of ids `encode` returns: `model_max_length` of tokenizer_config.json, 77 by default.
    public let maxLength: Int
    public let bosID: Int32, eosID: Int32, padID: Int32
    /// The id of "," ending a word (`,</w>`), where a long prompt's chunks prefer to break
    /// (`PromptChunks`); nil for a vocabulary without it.
    public let commaID: Int32?

    private let encoder: BytePairEncoder
    /// Added tokens matched before normalization, and those matched after it (by normalized content).
    private let rawTokens: [[Unicode.Scalar]: Int32]
    private let normalizedTokens: [[Unicode.Scalar]: Int32]

    /// Loads a tokenizer folder: vocab.json and merges.txt (or, without them, tokenizer.json),
    /// plus tokenizer_config.json and special_tokens_map.json when present (for
    /// `model_max_length` and the special tokens).
    public init(folder: URL) throws {
        let files = try TokenizerFolder(folder)
        try self.init(
            vocabulary: files.vocabulary, merges: files.merges, maxLength: files.maxLength,
            specialTokens: try files.specialTokens.resolve(vocabulary: files.vocabulary, file: files.vocabularyFile),
            mergesFile: files.mergesFile, describeMerge: { files.mergeLocations[$0] })
    }

    /// A tokenizer from a vocabulary and merges in rank order, with CLIP's special tokens
    /// (`<|startoftext|>`, `<|endoftext|>`) and `padToken`, all matched in the raw text — what
    /// transformers makes of a folder without configuration files, given `pad_token=padToken`.
    public init(vocabulary: [String: Int32], merges: [(String, String)], maxLength: Int = 77,
                padToken: String = "<|endoftext|>") throws {
        guard maxLength >= 2 else {
            throw TokenizerError(file: "maxLength", problem: "must be at least 2 (BOS and EOS), not \(maxLength)")
        }
        var specialTokens = SpecialTokens()
        specialTokens.pad = SpecialTokens.TokenSpec(content: padToken)
        try self.init(
            vocabulary: vocabulary, merges: merges, maxLength: maxLength,
            specialTokens: try specialTokens.resolve(vocabulary: vocabulary, file: "vocabulary"),
            mergesFile: "merges", describeMerge: { "merge \($0 + 1)" })
    }

    private init(vocabulary: [String: Int32], merges: [(String, String)], maxLength: Int,
                 specialTokens: ResolvedSpecialTokens, mergesFile: String,
                 describeMerge: (Int) -> String) throws {
        encoder = try BytePairEncoder(
            vocabulary: vocabulary, merges: merges, unknownID: specialTokens.unkID, file: mergesFile,
            describeMerge: describeMerge)
        self.maxLength = maxLength
        bosID = specialTokens.bosID
        eosID = specialTokens.eosID
        padID = specialTokens.padID
        commaID = vocabulary["," + endOfWordMarker]
        var raw: [[Unicode.Scalar]: Int32] = [:]
        var normalized: [[Unicode.Scalar]: Int32] = [:]
        for token in specialTokens.added {
            if token.normalized {
                normalized[normalizeForCLIP(Array(token.content.unicodeScalars)[...])] = token.id
            } else {
                raw[Array(token.content.unicodeScalars)] = token.id
            }
        }
        rawTokens = raw
        normalizedTokens = normalized
    }

    /// The prompt as the text encoder takes it: BOS, the tokens (cut after `maxLength - 2` of them),
    /// EOS, then `padID` up to `maxLength`.
    public func encode(_ text: String) -> TokenizedPrompt {
        let tokens = tokens(text)
        var ids = [bosID]
        ids.reserveCapacity(maxLength)
        ids.append(contentsOf: tokens.prefix(maxLength - 2))
        ids.append(eosID)
        ids.append(contentsOf: repeatElement(padID, count: maxLength - ids.count))
        return TokenizedPrompt(ids: ids, tokenCount: tokens.count + 2, maxLength: maxLength)
    }

    /// The prompt's token ids alone: no BOS, EOS, padding or truncation.
    public func tokens(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        var bytes: [UInt8] = []
        let scalars = Array(text.unicodeScalars)
        splitOnAddedTokens(scalars[...], rawTokens, ids: &ids) { segment, ids in
            let normalized = normalizeForCLIP(segment)
            splitOnAddedTokens(normalized[...], normalizedTokens, ids: &ids) { segment, ids in
                forEachCLIPWord(in: segment) { word in
                    bytes.removeAll(keepingCapacity: true)
                    for scalar in word { UTF8.encode(scalar) { bytes.append($0) } }
                    encoder.encode(word: bytes, into: &ids)
                }
            }
        }
        return ids
    }
}

/// Cuts `text` at each occurrence of an added token, appending the token's id to `ids` and handing
/// the text between to `between`. At each position the longest token that starts there wins, as
/// with the leftmost-longest matcher of the `tokenizers` library.
private func splitOnAddedTokens(
    _ text: ArraySlice<Unicode.Scalar>, _ tokens: [[Unicode.Scalar]: Int32], ids: inout [Int32],
    between: (ArraySlice<Unicode.Scalar>, inout [Int32]) -> Void
) {
    guard !tokens.isEmpty else {
        between(text, &ids)
        return
    }
    var segmentStart = text.startIndex
    var position = text.startIndex
    while position < text.endIndex {
        var match: (length: Int, id: Int32)?
        for (token, id) in tokens where token.count > (match?.length ?? 0) {
            if text[position...].starts(with: token) { match = (token.count, id) }
        }
        guard let match else {
            position += 1
            continue
        }
        if segmentStart < position { between(text[segmentStart..<position], &ids) }
        ids.append(match.id)
        position += match.length
        segmentStart = position
    }
    if segmentStart < text.endIndex { between(text[segmentStart..<text.endIndex], &ids) }
}
