import Foundation

/// Why a tokenizer could not be made: the file (or argument) at fault and what is wrong with it.
public struct TokenizerError: Error, CustomStringConvertible {
    /// The path of the file, or the name of the initializer argument, that is wrong.
    public let file: String
    public let problem: String

    public var description: String { "\(file): \(problem)" }
}

/// A string that is cut out of the text before BPE and becomes a single id (the special tokens, and
/// any other entry of `added_tokens_decoder`).
struct AddedToken: Sendable {
    let content: String
    let id: Int32
    /// Whether it is matched in the normalized text (so "<|STARTOFTEXT|>" matches "<|startoftext|>")
    /// or in the text as given.
    let normalized: Bool
}

/// The special tokens a tokenizer folder names, resolved the way `CLIPTokenizer.from_pretrained` in
/// transformers 5.24 resolves them. Its rules, checked against that version:
///
/// - `bos_token`, `eos_token`, `unk_token`, `pad_token` come from tokenizer_config.json; missing ones
///   are CLIP's defaults (`<|startoftext|>`, and `<|endoftext|>` for the other three).
/// - A token given as a plain string is matched in the raw text; one given as an object
///   (`{"content": …, "normalized": …}`) takes its `normalized` flag, false when absent.
/// - When tokenizer_config.json has `added_tokens_decoder` (what transformers ≥ 4.34 writes), its
///   entries are added tokens with their ids and flags, they override the flag of a special token
///   with the same content, and special_tokens_map.json is not read at all. Otherwise (older folders,
///   such as Stable Diffusion 1.x/2.x) special_tokens_map.json overrides tokenizer_config.json key
///   by key.
/// - The four are registered in the order bos, eos, unk, pad; when two share their content the later
///   one's flag wins. So SD 1.x's `<|endoftext|>` is matched raw (its pad is a plain string) while
///   its `<|startoftext|>` is matched after lowercasing, and SD 2.x's pad `!` becomes a special token:
///   every "!" in an SD 2.x prompt is id 0 on its own, not BPE'd with the punctuation around it.
struct SpecialTokens {
    var bos = TokenSpec(content: "<|startoftext|>")
    var eos = TokenSpec(content: "<|endoftext|>")
    var unk = TokenSpec(content: "<|endoftext|>")
    var pad = TokenSpec(content: "<|endoftext|>")
    /// `added_tokens_decoder`, keyed by id.
    var declared: [Int32: TokenSpec] = [:]

    struct TokenSpec {
        var content: String
        var normalized = false
    }

    /// Looks the tokens up: the ids of the four, and every token to cut out of prompts. An id from
    /// `added_tokens_decoder` comes first, as the `tokenizers` library looks added tokens up first.
    func resolve(vocabulary: [String: Int32], file: String) throws -> ResolvedSpecialTokens {
        var added: [String: AddedToken] = [:]
        for (id, spec) in declared {
            added[spec.content] = AddedToken(content: spec.content, id: id, normalized: spec.normalized)
        }
        let declaredContents = Set(added.keys)
        var ids: [Int32] = []
        for (name, spec) in [("bos_token", bos), ("eos_token", eos), ("unk_token", unk), ("pad_token", pad)] {
            guard let id = added[spec.content]?.id ?? vocabulary[spec.content] else {
                throw TokenizerError(file: file, problem: "has no \(name) \"\(spec.content)\"")
            }
            if !declaredContents.contains(spec.content) {
                added[spec.content] = AddedToken(content: spec.content, id: id, normalized: spec.normalized)
            }
            ids.append(id)
        }
        return ResolvedSpecialTokens(
            bosID: ids[0], eosID: ids[1], unkID: ids[2], padID: ids[3], added: Array(added.values))
    }
}

struct ResolvedSpecialTokens {
    let bosID: Int32, eosID: Int32, unkID: Int32, padID: Int32
    let added: [AddedToken]
}

/// Everything a tokenizer folder holds, parsed and checked. The vocabulary and merges come from
/// vocab.json and merges.txt (the hub's Stable Diffusion folders), or, when those are absent, from
/// tokenizer.json (all that transformers 5's `save_pretrained` writes).
struct TokenizerFolder {
    var vocabulary: [String: Int32]
    var merges: [(String, String)]
    /// Where each merge is, for error messages ("line 7", "model.merges[5]").
    var mergeLocations: [String]
    /// The files the vocabulary and the merges came from.
    var vocabularyFile: String
    var mergesFile: String
    var maxLength: Int
    var specialTokens: SpecialTokens

    /// The length CLIP's text encoder has positions for, used when the folder does not say.
    static let defaultMaxLength = 77

    init(_ folder: URL) throws {
        let vocabularyURL = folder.appendingPathComponent("vocab.json")
        let tokenizerURL = folder.appendingPathComponent("tokenizer.json")
        var addedTokens: Any?
        if !FileManager.default.fileExists(atPath: vocabularyURL.path),
           FileManager.default.fileExists(atPath: tokenizerURL.path) {
            (vocabulary, merges, addedTokens) = try Self.readTokenizerJSON(tokenizerURL)
            mergeLocations = merges.indices.map { "model.merges[\($0)]" }
            (vocabularyFile, mergesFile) = (tokenizerURL.path, tokenizerURL.path)
        } else {
            let mergesURL = folder.appendingPathComponent("merges.txt")
            vocabulary = try Self.readVocabulary(vocabularyURL)
            let lines: [Int]
            (merges, lines) = try Self.readMerges(mergesURL)
            mergeLocations = lines.map { "line \($0)" }
            (vocabularyFile, mergesFile) = (vocabularyURL.path, mergesURL.path)
        }

        let configURL = folder.appendingPathComponent("tokenizer_config.json")
        let config = try Self.readOptionalObject(configURL)
        maxLength = try Self.maxLength(config["model_max_length"], file: configURL.path)

        specialTokens = SpecialTokens()
        try specialTokens.apply(config, file: configURL.path)
        if let declared = config["added_tokens_decoder"] {
            try specialTokens.declare(declared, file: configURL.path)
        } else if let addedTokens {
            // tokenizer.json's list holds what added_tokens_decoder would: ids, contents, flags.
            try specialTokens.declareList(addedTokens, file: tokenizerURL.path)
        } else {
            let mapURL = folder.appendingPathComponent("special_tokens_map.json")
            try specialTokens.apply(try Self.readOptionalObject(mapURL), file: mapURL.path)
        }
    }

    /// tokenizer.json: `model` must be CLIP's byte-level BPE (`type` "BPE", `end_of_word_suffix`
    /// "</w>"); merges are "left right" strings or [left, right] pairs, in rank order.
    private static func readTokenizerJSON(_ url: URL) throws -> ([String: Int32], [(String, String)], Any?) {
        guard let root = try readJSON(url) as? [String: Any], let model = root["model"] as? [String: Any] else {
            throw TokenizerError(file: url.path, problem: "has no \"model\" object")
        }
        guard model["type"] as? String == "BPE", model["end_of_word_suffix"] as? String == "</w>" else {
            throw TokenizerError(
                file: url.path,
                problem: "model is not CLIP's byte-level BPE (type \(model["type"] ?? "none"), end_of_word_suffix "
                    + "\(model["end_of_word_suffix"] ?? "none"))")
        }
        guard let vocabularyObject = model["vocab"] as? [String: Any] else {
            throw TokenizerError(file: url.path, problem: "model.vocab is not an object of token → id")
        }
        let vocabulary = try vocabularyIDs(vocabularyObject, file: url.path)
        guard let list = model["merges"] as? [Any] else {
            throw TokenizerError(file: url.path, problem: "model.merges is not a list")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(list.count)
        for (index, entry) in list.enumerated() {
            let parts = (entry as? [String]) ?? (entry as? String)?.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard let parts, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError(file: url.path, problem: "model.merges[\(index)] is not a merge of two tokens: \(entry)")
            }
            merges.append((parts[0], parts[1]))
        }
        return (vocabulary, merges, root["added_tokens"])
    }

    private static func readVocabulary(_ url: URL) throws -> [String: Int32] {
        guard let object = try readJSON(url) as? [String: Any] else {
            throw TokenizerError(file: url.path, problem: "is not a JSON object of token → id")
        }
        return try vocabularyIDs(object, file: url.path)
    }

    private static func vocabularyIDs(_ object: [String: Any], file: String) throws -> [String: Int32] {
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(object.count)
        for (token, value) in object {
            guard let id = value as? Int, let id32 = Int32(exactly: id), id32 >= 0 else {
                throw TokenizerError(file: file, problem: "the id of \"\(token)\" is not a non-negative integer")
            }
            vocabulary[token] = id32
        }
        return vocabulary
    }

    /// merges.txt: an optional `#version` line, then one "left right" pair per line, in rank order.
    /// Like the `tokenizers` library, any other line — a blank one included — is an error.
    private static func readMerges(_ url: URL) throws -> ([(String, String)], [Int]) {
        let text = try String(decoding: readData(url), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }  // the newline that ends the last line
        var merges: [(String, String)] = []
        var lineNumbers: [Int] = []
        merges.reserveCapacity(lines.count)
        for (index, rawLine) in lines.enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError(
                    file: url.path, problem: "line \(index + 1) is not a merge of two tokens: \"\(line)\"")
            }
            merges.append((String(parts[0]), String(parts[1])))
            lineNumbers.append(index + 1)
        }
        return (merges, lineNumbers)
    }

    /// `model_max_length`: absent, or transformers' "no limit" value (it writes int(1e30)), means 77.
    private static func maxLength(_ value: Any?, file: String) throws -> Int {
        guard let value else { return defaultMaxLength }
        if let number = value as? NSNumber, number.doubleValue >= 1e29 { return defaultMaxLength }
        guard let length = value as? Int, length >= 2 else {
            throw TokenizerError(
                file: file, problem: "model_max_length must be an integer of at least 2 (BOS and EOS), not \(value)")
        }
        return length
    }

    private static func readOptionalObject(_ url: URL) throws -> [String: Any] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [:] }
        guard let object = try readJSON(url) as? [String: Any] else {
            throw TokenizerError(file: url.path, problem: "is not a JSON object")
        }
        return object
    }

    private static func readJSON(_ url: URL) throws -> Any {
        let data = try readData(url)
        do {
            return try JSONSerialization.jsonObject(with: data)
        } catch {
            throw TokenizerError(file: url.path, problem: "is not valid JSON (\(error.localizedDescription))")
        }
    }

    private static func readData(_ url: URL) throws -> Data {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TokenizerError(file: url.path, problem: "is missing")
        }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError(file: url.path, problem: "cannot be read (\(error.localizedDescription))")
        }
    }
}

extension SpecialTokens {
    /// Takes the special tokens that `object` (a tokenizer_config.json or special_tokens_map.json) names.
    mutating func apply(_ object: [String: Any], file: String) throws {
        func parse(_ key: String) throws -> TokenSpec? {
            guard let value = object[key] else { return nil }
            return try Self.spec(value, name: key, file: file)
        }
        bos = try parse("bos_token") ?? bos
        eos = try parse("eos_token") ?? eos
        unk = try parse("unk_token") ?? unk
        pad = try parse("pad_token") ?? pad
    }

    /// Takes tokenizer.json's `added_tokens`: `[{"id": 49406, "content": "<|startoftext|>", "normalized": true, …}]`.
    mutating func declareList(_ value: Any, file: String) throws {
        guard let entries = value as? [[String: Any]] else {
            throw TokenizerError(file: file, problem: "added_tokens is not a list of objects")
        }
        for (index, entry) in entries.enumerated() {
            guard let id = entry["id"] as? Int, let id32 = Int32(exactly: id), id32 >= 0 else {
                throw TokenizerError(file: file, problem: "added_tokens[\(index)] has no non-negative integer \"id\"")
            }
            declared[id32] = try Self.spec(entry, name: "added_tokens[\(index)]", file: file)
        }
    }

    /// Takes `added_tokens_decoder`: `{"49406": {"content": "<|startoftext|>", "normalized": true, …}}`.
    mutating func declare(_ value: Any, file: String) throws {
        guard let entries = value as? [String: Any] else {
            throw TokenizerError(file: file, problem: "added_tokens_decoder is not an object of id → token")
        }
        for (key, entry) in entries {
            guard let id = Int32(key), id >= 0 else {
                throw TokenizerError(file: file, problem: "added_tokens_decoder has a key that is not an id: \"\(key)\"")
            }
            declared[id] = try Self.spec(entry, name: "added_tokens_decoder[\(key)]", file: file)
        }
    }

    private static func spec(_ value: Any, name: String, file: String) throws -> TokenSpec {
        let object = value as? [String: Any]
        guard let content = value as? String ?? object?["content"] as? String, !content.isEmpty else {
            throw TokenizerError(
                file: file, problem: "\(name) must be a non-empty string or an object with a non-empty \"content\" string")
        }
        return TokenSpec(content: content, normalized: object?["normalized"] as? Bool ?? false)
    }
}
