import Foundation
import Testing

/// `--help` for the tool and its commands: exit 0, every option documented, examples shown.
@Suite struct HelpTests {
    /// The ARGUMENTS/OPTIONS entries of an ArgumentParser help text: each name (`--model`, `-h`,
    /// `<prompts>`) → its description (wrapped lines joined).
    static func entries(inHelp help: String) -> [String: String] {
        var entries: [(names: [String], description: String)] = []
        var inSection = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line == "ARGUMENTS:" || line == "OPTIONS:" {
                inSection = true
                continue
            }
            if line.isEmpty || !line.hasPrefix(" ") {
                inSection = false
                continue
            }
            guard inSection else { continue }
            let text = line.trimmingCharacters(in: .whitespaces)
            let indent = line.prefix { $0 == " " }.count
            if indent == 2 {
                // "--prompts <file>        A prompt file …": usage, two or more spaces, description.
                let gap = text.range(of: "  ")
                let usage = gap.map { String(text[..<$0.lowerBound]) } ?? text
                let description = gap.map { text[$0.upperBound...].trimmingCharacters(in: .whitespaces) } ?? ""
                let words = usage.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
                // An option's names start with '-' ("-h, --help"); an argument is its "<value>".
                let names = usage.hasPrefix("<") ? Array(words.prefix(1)) : words.filter { $0.hasPrefix("-") }
                entries.append((names, description))
            } else if !entries.isEmpty {
                let joined = [entries[entries.count - 1].description, text].filter { !$0.isEmpty }
                entries[entries.count - 1].description = joined.joined(separator: " ")
            }
        }
        var result: [String: String] = [:]
        for entry in entries {
            for name in entry.names { result[name] = entry.description }
        }
        return result
    }

    /// What ArgumentParser itself knows of a command's arguments (`--experimental-dump-help`):
    /// the names help must show, hidden ones excluded.
    static func declaredArguments(_ command: [String]) throws -> [(name: String, abstract: String)] {
        let run = try withTemporaryDirectory { try Imagine.run(command + ["--experimental-dump-help"], in: $0) }
        try #require(run.status == 0, "\(run)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let info = try #require(root["command"] as? [String: Any])
        let arguments = info["arguments"] as? [[String: Any]] ?? []
        return try arguments.filter { ($0["shouldDisplay"] as? Bool) != false }.map { argument in
            let names = argument["names"] as? [[String: Any]] ?? []
            let long = names.first { $0["kind"] as? String == "long" }?["name"] as? String
            let short = names.first { $0["kind"] as? String == "short" }?["name"] as? String
            let value = argument["valueName"] as? String
            let name = try #require(long.map { "--\($0)" } ?? short.map { "-\($0)" } ?? value.map { "<\($0)>" },
                                    "an argument without a name: \(argument)")
            return (name, argument["abstract"] as? String ?? "")
        }
    }

    @Test func generateHelpDescribesEveryOptionAndShowsExamples() throws {
        let run = try withTemporaryDirectory { try Imagine.run(["generate", "--help"], in: $0) }
        #expect(run.status == 0, "\(run)")
        #expect(run.stderr.isEmpty, "\(run)")
        let entries = Self.entries(inHelp: run.stdout)

        // Every option ArgumentParser knows of is listed with its own description.
        let declared = try Self.declaredArguments(["generate"])
        for (name, abstract) in declared {
            let description = entries[name] ?? ""
            #expect(!description.isEmpty, "\(name) has no description in generate --help:\n\(run.stdout)")
            let opening = abstract.split(separator: " ").prefix(3).joined(separator: " ")
            #expect(description.hasPrefix(opening), "\(name): '\(description)' is not '\(abstract)'")
        }
        // …and those are the options this test suite (and README) rely on.
        let promised = ["<prompts>", "--prompts", "--model", "--tokenizer", "--tiny-decoder", "--prediction-type",
                        "--out-dir", "--steps", "--cfg", "--sampler", "--seed", "--width", "--height", "--negative",
                        "--decoder", "--resume", "--shard", "--threads", "--init-image", "--strength", "--help"]
        #expect(Set(promised).isSubset(of: declared.map(\.name)), "declared: \(declared.map(\.name))")
        for name in promised { #expect(entries[name]?.isEmpty == false, "\(name) missing from generate --help") }
        for sampler in GenerateCommandTests.samplers {
            #expect(entries["--sampler"]?.contains(sampler) == true, "--sampler help does not list \(sampler)")
        }

        let lines = run.stdoutLines
        let examples = lines.firstIndex(of: "EXAMPLES")
        try #require(examples != nil, "no EXAMPLES section:\n\(run.stdout)")
        #expect(lines[(examples! + 1)...].prefix { $0.hasPrefix("  ") || !$0.contains(":") }
                    .contains { $0.hasPrefix("  imagine generate ") }, "no example:\n\(run.stdout)")
    }

    @Test func inspectHelpDescribesItsArgumentAndShowsExamples() throws {
        let run = try withTemporaryDirectory { try Imagine.run(["inspect", "--help"], in: $0) }
        #expect(run.status == 0, "\(run)")
        let entries = Self.entries(inHelp: run.stdout)
        for (name, _) in try Self.declaredArguments(["inspect"]) {
            #expect(entries[name]?.isEmpty == false, "\(name) has no description in inspect --help:\n\(run.stdout)")
        }
        #expect(entries["<path>"]?.contains(".safetensors") == true, "\(run)")
        let lines = run.stdoutLines
        let examples = lines.firstIndex(of: "EXAMPLES")
        try #require(examples != nil, "no EXAMPLES section:\n\(run.stdout)")
        #expect(lines[(examples! + 1)...].prefix { $0.hasPrefix("  ") || !$0.contains(":") }
                    .contains { $0.hasPrefix("  imagine inspect ") }, "no example:\n\(run.stdout)")
    }

    @Test func toolHelpListsTheCommandsAndShowsExamples() throws {
        let run = try withTemporaryDirectory { try Imagine.run(["--help"], in: $0) }
        #expect(run.status == 0, "\(run)")
        #expect(run.stdoutLines.contains("EXAMPLES"), "\(run)")
        for command in ["generate", "inspect"] {
            #expect(run.stdoutLines.contains { $0.hasPrefix("  \(command) ") && $0.count > command.count + 4 },
                    "\(command) is not listed with a description:\n\(run.stdout)")
        }
    }
}
