import Foundation
@testable import Models
import Testing

/// The tokenizer fixtures (Tests/Fixtures/tokenizer, made by Tests/Fixtures/make_tokenizer_fixtures.py)
/// and CLIP's real vocabulary when a copy sits beside the checkout in ../shared/clip-tokenizer
/// (vocab.json and merges.txt of openai/clip-vit-large-patch14; too large to commit, so the tests
/// that need it are skipped without it).
private enum TokenizerFixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let folder = packageRoot.appendingPathComponent("Tests/Fixtures/tokenizer")
    static let smallVocabulary = folder.appendingPathComponent("small-vocab")

    static let clipVocabulary: URL? = {
        let url = packageRoot.appendingPathComponent("../shared/clip-tokenizer").standardizedFileURL
        let present = FileManager.default.fileExists(atPath: url.appendingPathComponent("vocab.json").path)
        if !present { print("CLIP vocabulary not found at \(url.path): skipping the tests that need it") }
        return present ? url : nil
    }()

    static let strings: [String] = {
        let data = try! Data(contentsOf: folder.appendingPathComponent("strings.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String]
    }()

    /// transformers' output for every string of strings.json, in one case's configuration.
    struct Expected {
        var maxLength: Int
        var padID: Int32
        /// `[tokenCount, ids up to EOS]`, one per string; the rest of each row is `padID`.
        var records: [(tokenCount: Int, ids: [Int32])]

        init(_ caseName: String) throws {
            let data = try Data(contentsOf: folder.appendingPathComponent("expected-\(caseName).json"))
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            maxLength = try #require(object["max_length"] as? Int)
            padID = Int32(try #require(object["pad_id"] as? Int))
            let rows = try #require(object["records"] as? [[Any]])
            records = try rows.map { row in
                (try #require(row[0] as? Int), try #require(row[1] as? [Int]).map(Int32.init))
            }
        }

        func paddedIDs(_ index: Int) -> [Int32] {
            records[index].ids + Array(repeating: padID, count: maxLength - records[index].ids.count)
        }
    }

    /// A tokenizer folder as a model ships it: the real CLIP vocabulary with the configuration files
    /// of configs/`name` (SD 1.x, SD 2.x, or SDXL's tokenizer_2).
    static func clipFolder(config name: String) throws -> URL {
        let vocabulary = try #require(clipVocabulary)
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("clip-tokenizer-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for file in ["vocab.json", "merges.txt"] {
            try FileManager.default.createSymbolicLink(
                at: folder.appendingPathComponent(file), withDestinationURL: vocabulary.appendingPathComponent(file))
        }
        for file in ["tokenizer_config.json", "special_tokens_map.json"] {
            try FileManager.default.copyItem(
                at: self.folder.appendingPathComponent("configs/\(name)/\(file)"), to: folder.appendingPathComponent(file))
        }
        return folder
    }
}

/// `swift test --filter Tokenizer` runs these.
@Suite struct TokenizerTests {
    // MARK: Parity with transformers on every fixture string

    @Test func smallVocabularyMatchesTransformers() throws {
        let tokenizer = try CLIPTokenizer(folder: TokenizerFixtures.smallVocabulary)
        try expectParity(tokenizer, TokenizerFixtures.Expected("small"), caseName: "small")
    }

    /// The same tokenizer as transformers 5's save_pretrained writes it: tokenizer.json and
    /// tokenizer_config.json only.
    @Test func tokenizerJSONFolderMatchesTransformers() throws {
        let folder = TokenizerFixtures.smallVocabulary.deletingLastPathComponent().appendingPathComponent("small-saved")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("vocab.json").path))
        let tokenizer = try CLIPTokenizer(folder: folder)
        try expectParity(tokenizer, TokenizerFixtures.Expected("small"), caseName: "small-saved")
    }

    @Test func aTokenizerJSONThatIsNotCLIPsBPEIsRefusedByName() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-json-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let cases = [
            #"{"model": {"type": "Unigram", "vocab": []}}"#: "not CLIP's byte-level BPE",
            #"{"model": {"type": "BPE", "end_of_word_suffix": "</w>", "vocab": {"a</w>": 0}, "merges": [["a"]]}}"#:
                "model.merges[0] is not a merge of two tokens",
        ]
        for (json, problem) in cases {
            try Data(json.utf8).write(to: folder.appendingPathComponent("tokenizer.json"))
            let error = try #require(throws: TokenizerError.self) { try CLIPTokenizer(folder: folder) }
            #expect(error.file.hasSuffix("tokenizer.json") && error.problem.contains(problem), "\(error)")
        }
    }

    /// The in-memory initializer against transformers given vocab.json and merges.txt alone.
    @Test func smallVocabularyWithoutConfigurationMatchesTransformers() throws {
        let folder = TokenizerFixtures.smallVocabulary
        let vocabularyData = try Data(contentsOf: folder.appendingPathComponent("vocab.json"))
        let vocabulary = try #require(try JSONSerialization.jsonObject(with: vocabularyData) as? [String: Int])
        let merges = try String(contentsOf: folder.appendingPathComponent("merges.txt"), encoding: .utf8)
            .split(separator: "\n").dropFirst()  // "#version: 0.2"
            .map { line -> (String, String) in
                let parts = line.split(separator: " ")
                return (String(parts[0]), String(parts[1]))
            }
        let tokenizer = try CLIPTokenizer(vocabulary: vocabulary.mapValues(Int32.init), merges: merges)
        try expectParity(tokenizer, TokenizerFixtures.Expected("small-bare"), caseName: "small-bare")
    }

    @Test(.enabled(if: TokenizerFixtures.clipVocabulary != nil, "needs ../shared/clip-tokenizer"),
          arguments: ["sd1", "sd2", "sdxl2"])
    func clipVocabularyMatchesTransformers(config: String) throws {
        let folder = try TokenizerFixtures.clipFolder(config: config)
        defer { try? FileManager.default.removeItem(at: folder) }
        let tokenizer = try CLIPTokenizer(folder: folder)
        try expectParity(tokenizer, TokenizerFixtures.Expected(config), caseName: config)
    }

    /// Every string's padded ids and token count against transformers', reporting the first mismatch
    /// in full and how many there are.
    private func expectParity(_ tokenizer: CLIPTokenizer, _ expected: TokenizerFixtures.Expected,
                              caseName: String) throws {
        let strings = TokenizerFixtures.strings
        #expect(strings.count >= 2000)
        try #require(expected.records.count == strings.count, "expected-\(caseName).json is out of date")
        #expect(tokenizer.maxLength == expected.maxLength)
        #expect(tokenizer.padID == expected.padID)

        let clock = ContinuousClock()
        var prompts: [TokenizedPrompt] = []
        let elapsed = clock.measure { prompts = strings.map(tokenizer.encode) }
        print("\(caseName): encoded \(strings.count) strings in \(elapsed)")

        var mismatches = 0, truncated = 0
        for (index, prompt) in prompts.enumerated() {
            let record = expected.records[index]
            let want = expected.paddedIDs(index)
            if prompt.wasTruncated { truncated += 1 }
            guard prompt.ids != want || prompt.tokenCount != record.tokenCount else { continue }
            mismatches += 1
            if mismatches == 1 {
                Issue.record("""
                    \(caseName): first mismatch, string \(index) \(strings[index].debugDescription)
                    scalars:  \(strings[index].unicodeScalars.map { String($0.value, radix: 16) })
                    expected: \(want) (tokenCount \(record.tokenCount))
                    actual:   \(prompt.ids) (tokenCount \(prompt.tokenCount))
                    """)
            }
        }
        #expect(mismatches == 0, "\(caseName): \(mismatches) of \(strings.count) strings differ")
        #expect(truncated == expected.records.filter { $0.tokenCount > expected.maxLength }.count)
        print("\(caseName): \(strings.count - mismatches) of \(strings.count) strings identical, \(truncated) truncated")
    }

    // MARK: Truncation and padding

    @Test func truncationKeepsEOSLastAndReportsTheFullCount() throws {
        let tokenizer = try CLIPTokenizer(folder: TokenizerFixtures.smallVocabulary)
        let words = tokenizer.tokens("cat").count
        let long = tokenizer.encode(Array(repeating: "cat", count: 100).joined(separator: " "))
        #expect(long.tokenCount == 100 * words + 2)
        #expect(long.wasTruncated)
        #expect(long.ids.count == 77)
        #expect(long.ids.first == tokenizer.bosID && long.ids.last == tokenizer.eosID)
        #expect(long.eosPosition == 76)

        let exact = tokenizer.encode(Array(repeating: "cat", count: 75 / words).joined(separator: " "))
        #expect(!exact.wasTruncated && exact.ids.count == 77)

        let short = tokenizer.encode("a cat")
        #expect(!short.wasTruncated)
        #expect(short.eosPosition == short.tokenCount - 1)
        #expect(short.ids[short.eosPosition] == tokenizer.eosID)
        #expect(short.ids[(short.eosPosition + 1)...].allSatisfy { $0 == tokenizer.padID })

        let empty = tokenizer.encode("")
        #expect(empty.tokenCount == 2 && empty.eosPosition == 1)
        #expect(Array(empty.ids.prefix(2)) == [tokenizer.bosID, tokenizer.eosID])
    }

    @Test func maxLengthComesFromTheInitializer() throws {
        let (vocabulary, merges) = Self.makeHandMadeVocabulary()
        let tokenizer = try CLIPTokenizer(vocabulary: vocabulary, merges: merges, maxLength: 5)
        let prompt = tokenizer.encode("hello hello hello hello")
        #expect(prompt.ids == [vocabulary["<|startoftext|>"]!] + Array(repeating: vocabulary["hello</w>"]!, count: 3)
                + [vocabulary["<|endoftext|>"]!])
        #expect(prompt.tokenCount == 6 && prompt.wasTruncated && prompt.eosPosition == 4)
    }

    // MARK: Hand-checked cases

    @Test(.enabled(if: TokenizerFixtures.clipVocabulary != nil, "needs ../shared/clip-tokenizer"))
    func astronautPromptWithTheRealVocabulary() throws {
        let tokenizer = try CLIPTokenizer(folder: try #require(TokenizerFixtures.clipVocabulary))
        // The ids transformers.CLIPTokenizer gives for this prompt with the same vocabulary.
        let prompt = tokenizer.encode("a photograph of an astronaut riding a horse")
        #expect(Array(prompt.ids.prefix(10)) == [49406, 320, 8853, 539, 550, 18376, 6765, 320, 4558, 49407])
        #expect(prompt.ids.dropFirst(10).allSatisfy { $0 == 49407 })
        #expect(tokenizer.maxLength == 77 && tokenizer.bosID == 49406 && tokenizer.eosID == 49407)
    }

    /// CLIP's 512 byte symbols plus a few merges, so expectations can be written as token strings.
    private static func makeHandMadeVocabulary() -> ([String: Int32], [(String, String)]) {
        var vocabulary: [String: Int32] = [:]
        for symbol in byteSymbols.map({ String($0) }) + byteSymbols.map({ String($0) + "</w>" }) {
            vocabulary[symbol] = Int32(vocabulary.count)
        }
        let merges = [("h", "e"), ("l", "l"), ("ll", "o</w>"), ("he", "llo</w>"), ("'", "s</w>")]
        for (left, right) in merges { vocabulary[left + right] = Int32(vocabulary.count) }
        vocabulary["<|startoftext|>"] = Int32(vocabulary.count)
        vocabulary["<|endoftext|>"] = Int32(vocabulary.count)
        return (vocabulary, merges)
    }

    @Test func handCheckedPieces() throws {
        let (vocabulary, merges) = Self.makeHandMadeVocabulary()
        let names = Dictionary(uniqueKeysWithValues: vocabulary.map { ($1, $0) })
        let tokenizer = try CLIPTokenizer(vocabulary: vocabulary, merges: merges)
        func pieces(_ text: String) -> [String] { tokenizer.tokens(text).map { names[$0]! } }

        // Merges in rank order; `</w>` only on a word's last symbol, so "hell" cannot end in "llo</w>".
        #expect(pieces("hello") == ["hello</w>"])
        #expect(pieces("hell") == ["he", "l", "l</w>"])
        #expect(pieces("HeLLo   hello\t\nHELLO") == ["hello</w>", "hello</w>", "hello</w>"])
        // Contractions are pieces of their own, punctuation runs are one word, digits one each.
        #expect(pieces("He's") == ["h", "e</w>", "'s</w>"])
        #expect(pieces("x'sy") == ["x</w>", "'s</w>", "y</w>"])
        #expect(pieces("!!'s") == ["!", "!", "'</w>", "s</w>"])
        #expect(pieces("hello!?") == ["hello</w>", "!", "?</w>"])
        #expect(pieces("42") == ["4</w>", "2</w>"])
        // Bytes: "é" is two bytes, each a symbol of its own (U+00C3, U+00A9 in the byte alphabet).
        #expect(pieces("é") == ["Ã", "©</w>"])
        // A special token in the text is its own id; in another case it is ordinary text.
        #expect(pieces("hello<|endoftext|>hello") == ["hello</w>", "<|endoftext|>", "hello</w>"])
        #expect(pieces("<|EndOfText|>").count == 2 + 9 + 2)  // "<|", "endoftext", "|>"
        #expect(tokenizer.padID == vocabulary["<|endoftext|>"])
    }

    /// A byte whose symbol the vocabulary lacks becomes the unknown token (`<|endoftext|>`), as in
    /// the `tokenizers` BPE model.
    @Test func missingByteSymbolBecomesTheUnknownToken() throws {
        let vocabulary: [String: Int32] = ["a": 0, "a</w>": 1, "<|startoftext|>": 2, "<|endoftext|>": 3]
        let tokenizer = try CLIPTokenizer(vocabulary: vocabulary, merges: [])
        #expect(tokenizer.tokens("aba") == [0, 3, 1])
    }

    /// SD 2.x pads with "!", and transformers then treats every "!" in a prompt as that special
    /// token: one id 0 per "!", never merged with the punctuation around it.
    @Test func exclamationPadTokenIsCutOutOfPrompts() throws {
        let (vocabulary, merges) = Self.makeHandMadeVocabulary()
        let tokenizer = try CLIPTokenizer(vocabulary: vocabulary, merges: merges, padToken: "!")
        #expect(tokenizer.padID == vocabulary["!"])
        let bang = try #require(vocabulary["!"])
        #expect(tokenizer.tokens("hello!!?") == [vocabulary["hello</w>"]!, bang, bang, vocabulary["?</w>"]!])
        #expect(tokenizer.encode("hello").ids.suffix(74).allSatisfy { $0 == bang })
    }

    @Test func normalizationHandCheckedCases() {
        func normalized(_ text: String) -> [UInt32] {
            normalizeForCLIP(Array(text.unicodeScalars)[...]).map(\.value)
        }
        #expect(normalized("Cafe\u{301}") == [0x63, 0x61, 0x66, 0xE9])
        #expect(normalized("İ") == [0x69, 0x307])  // full lowercase mapping, not composed again
        #expect(normalized("a \t\u{A0}\u{3000}b") == [0x61, 0x20, 0x62])
        // Where Foundation's NFC on Linux goes wrong (see composeNFC).
        #expect(normalized("\u{AC00}\u{11A8}") == [0xAC01])
        #expect(normalized("\u{10041}\u{301}") == [0x10041, 0x301])
        #expect(normalized("\u{A69F}\u{F73}") == [0xF71, 0xF72, 0xA69F])
        // Unicode 13's U+11935 U+11930 → U+11938 is newer than the `tokenizers` library's tables.
        #expect(normalized("\u{11935}\u{11930}") == [0x11935, 0x11930])
        // U+0898 (Unicode 14, class 230) is a starter there: no reordering, no composition across it.
        #expect(normalized("a\u{898}\u{316}") == [0x61, 0x898, 0x316])
    }

    // MARK: Unicode, scalar by scalar

    private static func unicodeTables() throws -> [String: Any] {
        let data = try Data(contentsOf: TokenizerFixtures.folder.appendingPathComponent("unicode.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private static func hex(_ scalars: some Sequence<Unicode.Scalar>) -> String {
        scalars.map { String($0.value, radix: 16, uppercase: true) }.joined(separator: " ")
    }

    /// The regex classes of every scalar, against the `tokenizers` library's: this catches a
    /// toolchain whose Unicode tables are older than the library's (newer ones are handled).
    @Test func characterClassesMatchTheTokenizersLibraryForEveryScalar() throws {
        var expected = [ScalarClass](repeating: .other, count: 0x110000)
        for run in try #require(try Self.unicodeTables()["classes"] as? [[Any]]) {
            let kind: ScalarClass = switch try #require(run[2] as? String) {
            case "L": .letter
            case "N": .number
            default: .whitespace
            }
            for value in try #require(run[0] as? Int)...(try #require(run[1] as? Int)) { expected[value] = kind }
        }
        var mismatches: [String] = []
        for value in UInt32(0)..<0x110000 {
            guard let scalar = Unicode.Scalar(value), scalar.clipClass != expected[Int(value)] else { continue }
            mismatches.append("U+\(Self.hex([scalar])): \(scalar.clipClass), expected \(expected[Int(value)])")
        }
        let differing = mismatches.count
        #expect(differing == 0, "first: \(mismatches.prefix(10))")
    }

    /// Every assigned scalar on its own through the normalizer (NFC, whitespace, lowercase), and
    /// generated sequences of marks, decomposable letters and supplementary-plane scalars.
    @Test func normalizationMatchesTheTokenizersLibrary() throws {
        let tables = try Self.unicodeTables()
        var changed: [UInt32: [Unicode.Scalar]] = [:]
        for entry in try #require(tables["normalized"] as? [[Any]]) {
            changed[UInt32(try #require(entry[0] as? Int))] = Array(try #require(entry[1] as? String).unicodeScalars)
        }
        var mismatches: [String] = []
        for value in UInt32(0)..<0x110000 {
            // Unassigned scalars and the big uniform blocks normalize to themselves; skipping the
            // unassigned ones keeps this sweep under a second.
            guard let scalar = Unicode.Scalar(value), scalar.properties.age != nil else { continue }
            let want = changed[value] ?? [scalar]
            let got = normalizeForCLIP([scalar][...])
            if got != want { mismatches.append("U+\(Self.hex([scalar])) → \(Self.hex(got)), expected \(Self.hex(want))") }
        }
        for pair in try #require(tables["sequences"] as? [[String]]) {
            let want = Array(pair[1].unicodeScalars)
            let got = normalizeForCLIP(Array(pair[0].unicodeScalars)[...])
            if got != want {
                mismatches.append("\(Self.hex(pair[0].unicodeScalars)) → \(Self.hex(got)), expected \(Self.hex(want))")
            }
        }
        let differing = mismatches.count
        #expect(differing == 0, "first: \(mismatches.prefix(10))")
    }

    // MARK: Configuration files

    /// A folder with the small vocabulary and the given configuration files (name → JSON text).
    private func folder(config: [String: String], vocabulary: String? = nil, merges: String? = nil) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let source = TokenizerFixtures.smallVocabulary
        for (file, replacement) in [("vocab.json", vocabulary), ("merges.txt", merges)] {
            if let replacement {
                try replacement.write(to: url.appendingPathComponent(file), atomically: true, encoding: .utf8)
            } else {
                try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: url.appendingPathComponent(file))
            }
        }
        for (file, text) in config {
            try text.write(to: url.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        return url
    }

    @Test func configurationFilesChooseLengthAndPadToken() throws {
        let bang = try folder(config: ["tokenizer_config.json": #"{"model_max_length": 16}"#,
                                       "special_tokens_map.json": #"{"pad_token": {"content": "!"}}"#])
        defer { try? FileManager.default.removeItem(at: bang) }
        let tokenizer = try CLIPTokenizer(folder: bang)
        #expect(tokenizer.maxLength == 16 && tokenizer.padID == 0 && tokenizer.encode("a").ids.count == 16)

        // transformers writes int(1e30) for "no limit": CLIP's 77 applies.
        let unlimited = try folder(config: ["tokenizer_config.json": #"{"model_max_length": 1000000000000000019884624838656}"#])
        defer { try? FileManager.default.removeItem(at: unlimited) }
        #expect(try CLIPTokenizer(folder: unlimited).maxLength == 77)

        // With added_tokens_decoder, special_tokens_map.json is not read (as in transformers).
        let modern = try folder(config: [
            "tokenizer_config.json": #"{"added_tokens_decoder": {"1498": {"content": "<|startoftext|>", "normalized": true}}}"#,
            "special_tokens_map.json": #"{"pad_token": "!"}"#,
        ])
        defer { try? FileManager.default.removeItem(at: modern) }
        let decoded = try CLIPTokenizer(folder: modern)
        #expect(decoded.padID == decoded.eosID)
        #expect(decoded.tokens("<|STARTOFTEXT|>") == [decoded.bosID])
    }

    /// SDXL's tokenizer_2 layout (configs/sdxl2, here with the small vocabulary's ids): pad "!" is
    /// declared in added_tokens_decoder as special id 0, matched raw, beside a normalized
    /// <|startoftext|> and a raw <|endoftext|>. special_tokens_map.json, contradicting it here, is not
    /// read. The ids are transformers 5.24's for this folder.
    @Test func sdxlSecondTokenizerLayoutPadsWithExclamationMark() throws {
        let url = try folder(config: [
            "tokenizer_config.json": #"""
                {"added_tokens_decoder": {"0": {"content": "!", "normalized": false, "special": true},
                                          "1498": {"content": "<|startoftext|>", "normalized": true},
                                          "1499": {"content": "<|endoftext|>", "normalized": false}},
                 "pad_token": "!", "model_max_length": 77}
                """#,
            "special_tokens_map.json": #"{"pad_token": "<|endoftext|>"}"#,
        ])
        defer { try? FileManager.default.removeItem(at: url) }
        let tokenizer = try CLIPTokenizer(folder: url)
        #expect(tokenizer.padID == 0 && tokenizer.bosID == 1498 && tokenizer.eosID == 1499)
        #expect(tokenizer.tokens("hello!!?") == [71, 68, 75, 831, 0, 0, 286])
        #expect(tokenizer.tokens("<|STARTOFTEXT|>") == [1498])
        #expect(tokenizer.tokens("a <|ENDOFTEXT|>") == [320, 27, 347, 519, 706, 69, 730, 87, 339, 91, 285])
        let padded = tokenizer.encode("a").ids
        #expect(padded.count == 77 && padded.prefix(3) == [1498, 320, 1499] && padded.dropFirst(3).allSatisfy { $0 == 0 })
    }

    @Test(arguments: [
        // (files to write, file named in the error, words the error must contain)
        (["vocab.json": ""], "vocab.json", "not valid JSON"),
        (["vocab.json": "[1, 2]"], "vocab.json", "not a JSON object"),
        (["vocab.json": #"{"a": "x"}"#], "vocab.json", "\"a\""),
        (["merges.txt": "#version: 0.2\ni n\ne  s\n"], "merges.txt", "line 3"),
        (["merges.txt": "#version: 0.2\ni n\n\ne s\n"], "merges.txt", "line 3"),
        (["merges.txt": "i n\nqq zz\n"], "merges.txt", "line 2"),
        (["tokenizer_config.json": "{"], "tokenizer_config.json", "not valid JSON"),
        (["tokenizer_config.json": #"{"pad_token": "<pad>"}"#], "vocab.json", "pad_token \"<pad>\""),
        (["tokenizer_config.json": #"{"pad_token": {"normalized": true}}"#], "tokenizer_config.json", "pad_token"),
        (["tokenizer_config.json": #"{"model_max_length": 1}"#], "tokenizer_config.json", "model_max_length"),
        (["tokenizer_config.json": #"{"added_tokens_decoder": {"x": {"content": "a"}}}"#], "tokenizer_config.json", "\"x\""),
        (["special_tokens_map.json": #"{"bos_token": 7}"#], "special_tokens_map.json", "bos_token"),
    ])
    func loadingErrorsNameTheFileAndTheProblem(files: [String: String], file: String, words: String) throws {
        let vocabulary = files["vocab.json"], merges = files["merges.txt"]
        let url = try folder(config: files.filter { $0.key.hasSuffix("json") && $0.key != "vocab.json" },
                             vocabulary: vocabulary, merges: merges)
        defer { try? FileManager.default.removeItem(at: url) }
        let error = try #require(throws: TokenizerError.self) { try CLIPTokenizer(folder: url) }
        #expect(error.file == url.appendingPathComponent(file).path)
        #expect(error.description.contains(words), "\(error)")
    }

    @Test func missingFilesAndBadArgumentsAreReported() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let missing = try #require(throws: TokenizerError.self) { try CLIPTokenizer(folder: empty) }
        #expect(missing.description == "\(empty.appendingPathComponent("vocab.json").path): is missing")

        let (vocabulary, merges) = Self.makeHandMadeVocabulary()
        let pad = try #require(throws: TokenizerError.self) {
            try CLIPTokenizer(vocabulary: vocabulary, merges: merges, padToken: "<pad>")
        }
        #expect(pad.description == "vocabulary: has no pad_token \"<pad>\"")
        let merge = try #require(throws: TokenizerError.self) {
            try CLIPTokenizer(vocabulary: vocabulary, merges: merges + [("q", "z")])
        }
        #expect(merge.description == "merges: merge 6 (\"q z\"): \"qz\" is not in the vocabulary")
        #expect(throws: TokenizerError.self) { try CLIPTokenizer(vocabulary: vocabulary, merges: merges, maxLength: 1) }
    }
}
