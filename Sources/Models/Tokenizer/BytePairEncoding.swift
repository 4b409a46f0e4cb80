import Foundation

/// CLIP's byte-level alphabet (GPT-2's `bytes_to_unicode`): byte `b` is written as the character
/// `byteSymbols[b]` in vocab.json and merges.txt. Printable Latin-1 bytes stand for themselves; the
/// others (controls, space, soft hyphen…) are moved to U+0100 and up, in byte order, so that every
/// vocabulary entry is a run of visible characters.
let byteSymbols: [Character] = {
    func printable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }
    var symbols: [Character] = []
    var nextShifted = 0x100
    for byte in 0..<256 {
        if printable(byte) {
            symbols.append(Character(Unicode.Scalar(UInt8(byte))))
        } else {
            symbols.append(Character(Unicode.Scalar(UInt32(nextShifted))!))
            nextShifted += 1
        }
    }
    return symbols
}()

/// The marker CLIP appends to the last symbol of every word, so "a" inside a word and "a" ending one
/// are different tokens.
let endOfWordMarker = "</w>"

/// Byte-pair encoding of one word at a time over token ids, with CLIP's merge ranks.
struct BytePairEncoder: Sendable {
    /// One merge: the rank that orders it (lower first) and the token it makes.
    private struct Merge {
        let rank: Int32
        let token: Int32
    }

    /// The id of each byte's symbol inside a word, and at the end of a word (with `</w>`).
    private let byteIDs: [Int32]
    private let finalByteIDs: [Int32]
    /// Keyed by `pairKey(left, right)`.
    private let merges: [UInt64: Merge]
    private let cache = WordCache()

    /// - Parameters:
    ///   - unknownID: the id of a byte whose symbol is not in the vocabulary; the `tokenizers` BPE
    ///     model then emits its unknown token for it. CLIP's vocabulary has every byte.
    ///   - describeMerge: names merge `i` (by its line in merges.txt, say) in an error.
    init(vocabulary: [String: Int32], merges: [(String, String)], unknownID: Int32,
         file: String, describeMerge: (Int) -> String) throws {
        byteIDs = byteSymbols.map { vocabulary[String($0)] ?? unknownID }
        finalByteIDs = byteSymbols.map { vocabulary[String($0) + endOfWordMarker] ?? unknownID }
        var table: [UInt64: Merge] = [:]
        table.reserveCapacity(merges.count)
        for (index, (left, right)) in merges.enumerated() {
            for part in [left, right, left + right] where vocabulary[part] == nil {
                throw TokenizerError(
                    file: file, problem: "\(describeMerge(index)) (\"\(left) \(right)\"): \"\(part)\" is not in the vocabulary")
            }
            // A pair listed twice keeps its later rank, as the `tokenizers` library's merge map does.
            table[pairKey(vocabulary[left]!, vocabulary[right]!)] =
                Merge(rank: Int32(index), token: vocabulary[left + right]!)
        }
        self.merges = table
    }

    /// Appends the ids of `word` (the UTF-8 bytes of one pre-tokenizer piece) to `ids`.
    func encode(word: [UInt8], into ids: inout [Int32]) {
        if let cached = cache[word] {
            ids.append(contentsOf: cached)
            return
        }
        var symbols = word.map { byteIDs[Int($0)] }
        symbols[symbols.count - 1] = finalByteIDs[Int(word[word.count - 1])]
        merge(&symbols)
        cache[word] = symbols
        ids.append(contentsOf: symbols)
    }

    /// Applies merges until none applies: each step merges the adjacent pair with the lowest rank,
    /// the leftmost one on a tie — the order in which the `tokenizers` library's priority queue pops
    /// them (and, for a consistent merges file, the same result as CLIP's original merge-all-then-
    /// repeat loop). Words are short, so a linear scan per step beats keeping a heap.
    private func merge(_ symbols: inout [Int32]) {
        var ranks = [Int32](repeating: .max, count: max(symbols.count - 1, 0))
        func rank(at i: Int) -> Int32 {
            merges[pairKey(symbols[i], symbols[i + 1])]?.rank ?? .max
        }
        for i in ranks.indices { ranks[i] = rank(at: i) }
        while let best = ranks.indices.min(by: { ranks[$0] < ranks[$1] }), ranks[best] != .max {
            symbols[best] = merges[pairKey(symbols[best], symbols[best + 1])]!.token
            symbols.remove(at: best + 1)
            ranks.remove(at: best)
            if best > 0 { ranks[best - 1] = rank(at: best - 1) }
            if best < ranks.count { ranks[best] = rank(at: best) }
        }
    }
}

private func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
    UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
}

/// Remembers the ids of words already encoded: prompts repeat the same few hundred words, and a
/// dictionary look-up is far cheaper than the merge loop. Shared by copies of a tokenizer and safe
/// to use from several threads. Keyed by bytes, not `String`, because `String` equality is
/// canonical equivalence and two differently-encoded pieces can tokenize differently.
private final class WordCache: @unchecked Sendable {
    /// Enough for every word of a long session of prompts; past it, new words are not remembered.
    private static let capacity = 10_000
    /// Longer pieces (a run of punctuation, a URL) rarely recur.
    private static let longestWord = 64

    private let lock = NSLock()
    private var words: [[UInt8]: [Int32]] = [:]

    subscript(word: [UInt8]) -> [Int32]? {
        get { lock.withLock { words[word] } }
        set {
            guard word.count <= Self.longestWord else { return }
            lock.withLock {
                if words.count < Self.capacity { words[word] = newValue }
            }
        }
    }
}
