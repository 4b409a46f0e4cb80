import Foundation
import Testing

/// `imagine generate` with prompts longer than the text encoder's 77 tokens and with A1111's
/// emphasis syntax, on the tiny random-weight model.
@Suite struct LongPromptCommandTests {
    @Test func aLongWeightedPromptRendersWholeAndIsRecordedAsTyped() throws {
        try withTemporaryDirectory { dir in
            let phrases = ["a lighthouse on a rocky cliff", "(dramatic stormy sky:1.3)", "[crashing waves]",
                           "oil painting", "((highly detailed))", "golden hour light", "seagulls in the distance"]
            let head = phrases.joined(separator: ", ")
            // Well past 75 tokens, with a BREAK and an escaped bracket in the tail.
            let tail = Array(repeating: phrases.reversed().joined(separator: ", "), count: 4).joined(separator: ", ")
                + " BREAK a \\(small\\) boat"
            let long = head + ", " + tail
            let run = try Imagine.generate(["--out-dir", "out", "--negative", "blurry, (ugly:1.2)", head, long], in: dir)
            #expect(run.status == 0, "\(run)")
            #expect(!run.stderr.contains("warning"), "a long prompt is read whole, without a truncation warning: \(run)")
            #expect(!run.stderr.contains("error"), "\(run)")

            let records = try run.jsonRecords()
            try #require(records.count == 2, "\(run)")
            #expect(records.map { $0["prompt"] as? String } == [head, long])
            let files = try records.map { URL(fileURLWithPath: try #require($0["path"] as? String)) }
            let parameters = try #require(try PNGChunks(contentsOf: files[1]).text["parameters"])
            #expect(parameters.hasPrefix(long + "\nNegative prompt: blurry, (ugly:1.2)\n"), "\(parameters)")
            // The words past the first chunk reach the picture: the same start alone draws another.
            #expect(try PNGChunks(contentsOf: files[0]).imageData != PNGChunks(contentsOf: files[1]).imageData)
        }
    }

    @Test func aWeightThatIsNoNumberIsAnErrorForThatPromptOnly() throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.generate(["--out-dir", "out", "a (red:1.2.3) apple", "a (red:1.2) apple"], in: dir)
            #expect(run.status == 1, "\(run)")
            #expect(run.stderr.contains("'1.2.3' in '(…:1.2.3)' is not a number"), "\(run)")
            #expect(try run.jsonRecords().count == 1, "the other prompt still renders: \(run)")
        }
    }
}
