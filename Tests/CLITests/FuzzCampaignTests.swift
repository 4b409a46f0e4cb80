import Foundation
import Testing

/// Thousands of random and mutated prompt-file lines and dozens of random command lines through
/// the real binary (`--dry-run`: parsed, validated against the model and this machine, named,
/// nothing rendered), plus random small requests rendered for real. Seeded: the same inputs on
/// every run. Every input must end as a record or a `FILE:LINE:` error, never a crash or a hang,
/// and no path may leave `--out-dir`.
@Suite struct FuzzCampaignTests {
    /// Values at and beyond every field's limits, of every JSON type.
    static let edgeValues: [String] = [
        "0", "-0", "1", "-1", "2", "7", "8", "9", "15", "16", "64", "1000", "1001", "4096", "65536", "100000",
        "2147483647", "2147483648", "9007199254740992", "9223372036854775807", "9223372036854775808",
        "18446744073709551615", "18446744073709551616", "-9223372036854775808", "1e308", "-1e308", "1e-320",
        "1.5", "-7.25", "3.0", "1e30", "-1e30", "3.5e38", "true", "false", "null", "[]", "[1]", "{}", #"{"a":1}"#,
        #""""#, #""a""#, #""5""#, #""euler""#, #""euler_a""#, #""dpm++2m-karras""#, #""vae""#, #""tiny""#, #""latent""#,
        #""../x.png""#, #""/etc/passwd""#, #""~/x.png""#, #"".""#, #""..""#, #""sub/../../y.png""#, #""sub/ok.png""#,
        #""a\u0000b""#, #""\ud83c\udf4e""#, #""\ud800""#, #""名前.png""#, #""a//b""#, #""x/""#,
        "\"" + String(repeating: "long ", count: 2000) + "\"",
    ]
    static let keys = ["prompt", "negative", "seed", "steps", "cfg", "width", "height", "sampler", "decoder", "upscale",
                       "out", "unknown", "Prompt", ""]

    /// One random object line: random known (and a few unknown) keys with edge values.
    static func randomObject(_ rng: inout SplitMix) -> String {
        var fields: [String] = []
        if rng.next() % 8 != 0 { fields.append(#""prompt": "p\#(rng.next() % 1000)""#) }
        for _ in 0 ..< Int(rng.next() % 5) {
            let key = keys[Int(rng.next() % UInt64(keys.count))]
            fields.append("\"\(key)\": \(edgeValues[Int(rng.next() % UInt64(edgeValues.count))])")
        }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    /// `line` with a few characters flipped, dropped, duplicated or inserted (never a newline).
    static func mutated(_ line: String, _ rng: inout SplitMix) -> String {
        var characters = Array(line)
        let alphabet = Array(#"{}[]":,.-+e0123456789 \/aZ\u🍎名"#)
        for _ in 0 ..< 1 + Int(rng.next() % 4) {
            guard !characters.isEmpty else { break }
            let at = Int(rng.next() % UInt64(characters.count))
            switch rng.next() % 4 {
            case 0: characters[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            case 1: characters.remove(at: at)
            case 2: characters.insert(characters[at], at: at)
            default: characters = Array(characters[..<at])
            }
        }
        return String(characters)
    }

    @Test func thousandsOfRandomAndMutatedPromptLinesEachEndAsARecordOrALineError() throws {
        var rng = SplitMix(seed: 2026)
        var lines: [String] = []
        let valid = [#"{"prompt": "a red apple", "seed": 1, "steps": 4, "cfg": 6.5, "width": 64, "height": 48}"#,
                     #"{"prompt": "b", "negative": "c", "sampler": "ddim", "decoder": "latent", "upscale": 2, "out": "s/b.png"}"#]
        while lines.count < 6000 {
            switch rng.next() % 3 {
            case 0: lines.append(Self.randomObject(&rng))
            case 1: lines.append(Self.mutated(valid[Int(rng.next() % 2)], &rng))
            default: lines.append(Self.mutated(Self.randomObject(&rng), &rng))
            }
        }
        try withTemporaryDirectory { dir in
            try lines.joined(separator: "\n").write(to: dir.appendingPathComponent("fuzz.jsonl"), atomically: true, encoding: .utf8)
            let run = try Imagine.run(["generate", "--model", Imagine.tinyModel, "--prompts", "fuzz.jsonl", "--out-dir", "out",
                                       "--dry-run", "--seed", "1"], in: dir, timeout: 120)
            #expect(run.status == 1, "\(run.status)")
            let outDir = dir.appendingPathComponent("out").standardizedFileURL.resolvingSymlinksInPath().path
            var seen: [Int: Int] = [:]
            for record in try run.jsonRecords() {
                let line = try #require(record["line"] as? Int)
                seen[line, default: 0] += 1
                let path = URL(fileURLWithPath: try #require(record["path"] as? String)).standardizedFileURL.path
                #expect(path.hasPrefix(outDir + "/") || path.hasPrefix(dir.standardizedFileURL.path + "/out/"),
                        "line \(line) names \(path) outside \(outDir): \(lines[line - 1])")
            }
            for error in run.stderrLines where error.hasPrefix("error: ") {
                let match = error.firstMatch(of: /fuzz\.jsonl:(\d+)/)
                let line = try #require(match.flatMap { Int($0.1) }, "an error without its line: \(error)")
                seen[line, default: 0] += 1
            }
            let expected = lines.enumerated().filter { entry in
                let text = entry.element.trimmingCharacters(in: .whitespacesAndNewlines)
                return !text.isEmpty && !text.hasPrefix("#")
            }.map { $0.offset + 1 }
            #expect(seen.keys.sorted() == expected, "lines without exactly one outcome")
            #expect(seen.values.allSatisfy { $0 == 1 }, "lines reported twice: \(seen.filter { $0.value != 1 }.keys.sorted())")
            #expect(fileNames(in: dir) == ["fuzz.jsonl"], "a dry run wrote files")
        }
    }

    @Test func randomCommandLinesEndAsAResultOrAUsageError() throws {
        var rng = SplitMix(seed: 7)
        let numbers = ["0", "-1", "1", "8", "9", "-5", "1e30", "1e39", "-1e39", "nan", "inf", "1001", "1000", "65536",
                       "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
                       "0x10", "", " ", "--", "-", "a", "3/2", "0/0", "-1/2", "1/-2"]
        let options = ["--steps", "--cfg", "--seed", "--width", "--height", "--threads", "--upscale", "--shard",
                       "--negative", "--sampler", "--decoder"]
        try withTemporaryDirectory { dir in
            for _ in 0 ..< 40 {
                var arguments = ["generate", "--model", Imagine.tinyModel, "--dry-run"]
                for _ in 0 ..< 1 + Int(rng.next() % 3) {
                    arguments += [options[Int(rng.next() % UInt64(options.count))], numbers[Int(rng.next() % UInt64(numbers.count))]]
                }
                arguments.append("a prompt")
                let run = try Imagine.run(arguments, in: dir)
                #expect([0, 1, 64].contains(run.status), "\(run)")
                if run.status != 0 { #expect(run.stderr.contains("rror"), "\(run)") }
            }
        }
    }

    @Test func randomSmallRequestsRenderForReal() throws {
        var rng = SplitMix(seed: 11)
        let samplers = ["euler", "euler_a", "ddim", "lcm", "dpm++2m", "dpm++2m-karras"]
        try withTemporaryDirectory { dir in
            var lines: [String] = []
            for i in 0 ..< 24 {
                let width = 8 * (1 + Int(rng.next() % 10)), height = 8 * (1 + Int(rng.next() % 10))
                let cfg = [-3.0, 0, 1, 2.5, 7, 30, 1e20][Int(rng.next() % 7)]
                lines.append(#"{"prompt": "r\#(i)", "seed": \#(rng.next()), "steps": \#(1 + rng.next() % 3), "cfg": \#(cfg), "#
                             + #""width": \#(width), "height": \#(height), "sampler": "\#(samplers[Int(rng.next() % 6)])", "#
                             + #""decoder": "\#(rng.next() % 2 == 0 ? "vae" : "latent")", "upscale": \#(1 + rng.next() % 3)}"#)
            }
            try lines.joined(separator: "\n").write(to: dir.appendingPathComponent("r.jsonl"), atomically: true, encoding: .utf8)
            let run = try Imagine.generate(["--prompts", "r.jsonl", "--out-dir", "out"], in: dir)
            // Every one renders, or is refused for values that overflow (a 1e20 guidance can): never a crash.
            let records = try run.jsonRecords()
            #expect(records.count + run.stderrLines.filter { $0.hasPrefix("error: prompt") }.count == lines.count, "\(run)")
            #expect(records.count >= 20, "\(run)")
            #expect(run.stderrLines.filter { $0.hasPrefix("error:") }.allSatisfy { $0.contains("NaN or infinite") }, "\(run)")
        }
    }

    @Test func specialFilesWhereverAPathIsAccepted() throws {
        try withTemporaryDirectory { dir in
            #expect(mkfifo(dir.appendingPathComponent("fifo").path, 0o600) == 0)
            #expect(mkfifo(dir.appendingPathComponent("fifo.safetensors").path, 0o600) == 0)
            try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("loop1").path, withDestinationPath: "loop2")
            try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("loop2").path, withDestinationPath: "loop1")
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("folder.safetensors"), withIntermediateDirectories: true)
            let specials = ["fifo", "fifo.safetensors", "loop1", "/dev/null", "/dev/zero", "/dev/full", "folder.safetensors", dir.path,
                            "/proc/self/mem", "missing"]
            for special in specials {
                for flag in ["--prompts", "--model", "--tokenizer", "--tiny-decoder", "--out-dir"] {
                    var arguments = ["generate", "--model", Imagine.tinyModel, "--steps", "1", "--decoder", "latent",
                                     "--threads", "1", flag, special]
                    if flag != "--prompts" { arguments.append("a") }
                    let run = try Imagine.run(arguments, in: dir, timeout: 30)
                    #expect(!run.timedOut && [0, 1].contains(run.status), "\(run)")
                }
                let inspect = try Imagine.run(["inspect", special], in: dir, timeout: 30)
                #expect(inspect.status == 1 || special == dir.path, "\(inspect)")
            }
        }
    }
}

/// A small seeded generator (SplitMix64), so every run sees the same inputs.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
