import Foundation
import Testing

/// `--precision auto`: measured once per CPU, kept in the user's cache folder, and what `generate`
/// renders in unless told otherwise.
struct AutomaticPrecisionTests {
    @Test func versionNamesTheCPUTheKernelsAndWhatAutoPicks() throws {
        try withTemporaryDirectory { dir in
            let cache = dir.appendingPathComponent("cache")
            let run = try Imagine.run(["--version"], in: dir, environment: ["XDG_CACHE_HOME": cache.path])
            #expect(run.status == 0, "\(run)")
            let lines = run.stdoutLines
            #expect(lines.first?.hasPrefix("imagine ") == true, "\(run)")
            #expect(lines.contains { $0.hasPrefix("CPU: ") && $0.contains("family") }, "\(run)")
            #expect(lines.contains { $0.hasPrefix("fp32 products: OpenBLAS") && $0.contains(" kernels") }, "\(run)")
            #expect(lines.contains { $0.hasPrefix("precision auto: fp32") || $0.hasPrefix("precision auto: bf16") }, "\(run)")
            // The measurement is kept: one entry for this CPU.
            let entries = try Self.cacheEntries(in: cache)
            #expect(entries.count == 1, "\(entries)")
        }
    }

    @Test func generateRendersInWhatTheKeptMeasurementChose() throws {
        try withTemporaryDirectory { dir in
            let cache = dir.appendingPathComponent("cache")
            let environment = ["XDG_CACHE_HOME": cache.path]
            #expect(try Imagine.run(["--version"], in: dir, environment: environment).status == 0)
            let measured = try Self.cacheEntries(in: cache)
            let bf16Runs = measured.values.allSatisfy { $0["bf16Speedup"] != nil }
            // Whatever was measured, the kept entry decides: plant each choice this CPU can run.
            for precision in bf16Runs ? ["fp32", "bf16"] : ["fp32"] {
                var planted = measured
                for key in planted.keys { planted[key]?["precision"] = precision }
                try JSONSerialization.data(withJSONObject: planted)
                    .write(to: cache.appendingPathComponent("imagine/precision.json"))
                let run = try Imagine.run(
                    ["generate", "--model", Imagine.tinyModel, "--steps", "2", "--threads", "1", "--out-dir", precision, "a kite"],
                    in: dir, environment: environment)
                #expect(run.status == 0, "\(run)")
                #expect(try run.jsonRecords().first?["precision"] as? String == precision, "\(run)")
            }
        }
    }

    static func cacheEntries(in cache: URL) throws -> [String: [String: Any]] {
        let data = try Data(contentsOf: cache.appendingPathComponent("imagine/precision.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
    }
}
