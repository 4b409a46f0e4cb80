import Foundation
import Testing

/// `imagine bench live` on a model that ships only a tiny VAE (SDXS's layout): its previews decode
/// with that one, and --preview-sizes replays the typing at each size with the model loaded once.
@Suite struct BenchLiveCommandTests {
    @Test func sdxsPreviewLatencyAtEachSize() throws {
        try withTemporaryDirectory { dir in
            let result = try Imagine.run(["bench", "live", "--model", BenchTableCommandTests.tinySDXS, "--prompt", "an owl",
                                          "--preview-sizes", "64,32", "--cfg", "0", "--threads", "1"], in: dir, timeout: 120)
            #expect(result.status == 0, "\(result)")
            let previews = result.stdoutLines.filter { $0.hasPrefix("model tiny-sdxs ") }
            #expect(previews.count == 2, "\(result)")
            #expect(previews.first?.contains("preview 64×64, 1 step(s), tiny decoder, cfg 0") == true, "\(result)")
            #expect(previews.last?.contains("preview 32×32, 1 step(s), tiny decoder, cfg 0") == true, "\(result)")
            #expect(result.stdoutLines.filter { $0.hasPrefix("keystroke→picture on screen: p50 ") && $0.contains(" ms, p95 ") }
                .count == 2, "\(result)")
            #expect(result.stdoutLines.filter { $0.hasPrefix("a preview rendered alone") }.count == 2, "\(result)")
        }
    }

    @Test func previewSizesAndPreviewSizeExcludeEachOther() throws {
        try withTemporaryDirectory { dir in
            let result = try Imagine.run(["bench", "live", "--model", BenchTableCommandTests.tinySDXS,
                                          "--preview-sizes", "64", "--preview-size", "32"], in: dir)
            #expect(result.status != 0 && result.stderr.contains("--preview-sizes and --preview-size"), "\(result)")
            let bad = try Imagine.run(["bench", "live", "--model", BenchTableCommandTests.tinySDXS, "--preview-sizes", "64,30"],
                                      in: dir)
            #expect(bad.status != 0 && bad.stderr.contains("--preview-sizes must be positive multiples of 8"), "\(bad)")
        }
    }
}
