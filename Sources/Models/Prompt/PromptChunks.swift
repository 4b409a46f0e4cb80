import Foundation
import Kernels

/// A prompt of any length laid out for a text encoder that reads 77 ids at a time, as
/// AUTOMATIC1111 lays it out: the weighted runs of `PromptAttention` are tokenized one by one and
/// poured into chunks of 75 tokens, each framed by BOS … EOS and padded to 77, with a weight per id.
/// Each chunk is encoded on its own, its states weighted (`emphasized`), and the chunks' states
/// are joined along the token axis: a 200-token prompt conditions the U-Net on 3 × 77 states.
/// (A text encoder with another window, such as imagine-mini's 32, gets chunks of its window − 2.)
///
/// When a chunk fills up in the middle of a phrase, the words since its last comma move to the
/// next chunk, if there are at most `commaBacktrack` of them (A1111's `comma_padding_backtrack`
/// at its default), so a phrase is not split between two chunks.
public struct PromptChunks: Sendable, Equatable {
    /// 77 ids (BOS, up to 75 prompt tokens, EOS, padding) and a weight for each (1 for BOS, EOS
    /// and padding).
    public struct Chunk: Hashable, Sendable {
        public let ids: [Int32]
        public let weights: [Float]
    }

    public let chunks: [Chunk]
    /// The prompt's own tokens, without BOS, EOS and padding.
    public let tokenCount: Int

    /// At most this many tokens move to the next chunk to keep a phrase after a comma whole.
    public static let commaBacktrack = 20
    /// A prompt needing more chunks than this is refused, not cut: 4,800 tokens with SD's window,
    /// far beyond what a person writes, while a pasted book would take minutes of text encoding
    /// and its states would crowd the U-Net's memory.
    public static let maximumChunks = 64

    /// Lays out `prompt`. Throws `PromptAttention.InvalidWeight` for a weight that is no number.
    public init(_ prompt: String, tokenizer: CLIPTokenizer) throws {
        let chunkLength = tokenizer.maxLength - 2
        var chunks: [Chunk] = []
        var ids: [Int32] = [], weights: [Double] = []
        // Where the last comma sits in the chunk being filled (-1: none since the chunk began).
        var lastComma = -1
        var tokenCount = 0

        func closeChunk() {
            var row = [tokenizer.bosID] + ids + Array(repeating: tokenizer.eosID, count: chunkLength - ids.count + 1)
            // A model whose padding is not EOS (SD 2: "!") pads after the first EOS, as its
            // tokenizer does for a short prompt.
            if tokenizer.padID != tokenizer.eosID, let end = row.firstIndex(of: tokenizer.eosID) {
                for i in (end + 1)..<row.count { row[i] = tokenizer.padID }
            }
            let rowWeights: [Float] = [1] + weights.map { Float($0) } + Array(repeating: 1, count: chunkLength - ids.count + 1)
            chunks.append(Chunk(ids: row, weights: rowWeights))
            ids.removeAll()
            weights.removeAll()
            lastComma = -1
        }

        for fragment in try PromptAttention.parse(prompt) {
            guard case let .text(text, weight) = fragment else {
                closeChunk()
                continue
            }
            for token in tokenizer.tokens(text) {
                tokenCount += 1
                if token == tokenizer.commaID {
                    lastComma = ids.count
                } else if ids.count == chunkLength && lastComma != -1 && ids.count - lastComma <= Self.commaBacktrack {
                    let moved = (ids: ids[(lastComma + 1)...], weights: weights[(lastComma + 1)...])
                    ids.removeSubrange((lastComma + 1)...)
                    weights.removeSubrange((lastComma + 1)...)
                    closeChunk()
                    ids = Array(moved.ids)
                    weights = Array(moved.weights)
                }
                if ids.count == chunkLength { closeChunk() }
                ids.append(token)
                weights.append(weight)
            }
        }
        if !ids.isEmpty || chunks.isEmpty { closeChunk() }
        self.chunks = chunks
        self.tokenCount = tokenCount
    }
}

extension PromptChunks.Chunk {
    /// Whether every weight is 1, so the text encoder's states are used as they are.
    public var isUnweighted: Bool { weights.allSatisfy { $0 == 1 } }

    /// A1111's "Original" emphasis: each token's states multiplied by its weight, then the whole
    /// chunk rescaled so its mean is what it was (which keeps the overall magnitude the U-Net was
    /// trained on). `states` [1, ids.count, width] → the same shape. An unweighted chunk comes
    /// back unchanged, bit for bit.
    public func emphasized(_ states: Tensor) -> Tensor {
        precondition(states.shape.count == 3 && states.shape[0] == 1 && states.shape[1] == weights.count,
                     "states \(states.shape) do not match a chunk of \(weights.count) ids")
        if isUnweighted { return states }
        let width = states.shape[2]
        var out = states
        let originalMean = Float(mean(states.data))
        out.data.withUnsafeMutableBufferPointer { p in
            for (t, weight) in weights.enumerated() {
                for i in t * width ..< (t + 1) * width { p[i] *= weight }
            }
        }
        let ratio = originalMean / Float(mean(out.data))
        out.data.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] *= ratio }
        }
        return out
    }

    /// The mean in Double: torch's float32 mean sums in a cascade whose error stays far below
    /// fp32 resolution, and so does this.
    private func mean(_ values: [Float]) -> Double {
        var sum = 0.0
        for value in values { sum += Double(value) }
        return sum / Double(values.count)
    }
}
