import ArgumentParser
import Dispatch
import Foundation
import Kernels
import Models

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time model components (medians over several runs).",
        discussion: """
            Timings are wall-clock medians after one warm-up run. Compare against a reference \
            measured in the same session (the machine may be shared and noisy): see \
            Tests/Fixtures/fullsize_text_encoder_check.py for the PyTorch side.
            """,
        subcommands: [BenchTextEncoder.self])
}

struct BenchTextEncoder: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text-encoder",
        abstract: "Time the CLIP text encoder on one prompt.",
        discussion: """
            EXAMPLES
              imagine bench text-encoder ~/models/sd-turbo --threads 2 --runs 10
              imagine bench text-encoder /tmp/sd15 --save-output /tmp/swift.safetensors
            """)

    @Argument(help: ArgumentHelp(
        "A diffusers folder (uses text_encoder/ and tokenizer/) or a text_encoder folder.",
        valueName: "model"))
    var model: String

    @Option(help: ArgumentHelp("Tokenizer folder, when MODEL is a bare text_encoder folder.", valueName: "dir"))
    var tokenizer: String?

    @Option(help: "The prompt to encode (padded to 77 tokens as SD does).")
    var prompt = "a photograph of an astronaut riding a horse on the moon, highly detailed, 8k"

    @Option(help: "Timed runs after one warm-up run.")
    var runs = 5

    @Option(help: ArgumentHelp("Write last_hidden_state and pooled (fp32 safetensors) here.", valueName: "file"))
    var saveOutput: String?

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1, got \(runs)") }
    }

    func run() throws {
        threadOptions.apply()
        let root = URL(fileURLWithPath: model)
        let encoderFolder = FileManager.default.fileExists(atPath: root.appendingPathComponent("text_encoder").path)
            ? root.appendingPathComponent("text_encoder") : root
        let tokenizerFolder = tokenizer.map { URL(fileURLWithPath: $0) } ?? root.appendingPathComponent("tokenizer")

        let loadStart = DispatchTime.now()
        let (encoder, clipTokenizer) = try reportingErrors {
            (try CLIPTextModel(folder: encoderFolder), try CLIPTokenizer(folder: tokenizerFolder))
        }
        let loadSeconds = seconds(since: loadStart)
        let tokens = clipTokenizer.encode(prompt)
        if tokens.wasTruncated {
            FileHandle.standardError.write(Data(
                "warning: the prompt needs \(tokens.tokenCount) tokens; only the first \(tokens.maxLength) are used\n".utf8))
        }

        var output = encoder([tokens.ids])  // warm-up: first-touch page faults, BLAS buffers
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now()
            output = encoder([tokens.ids])
            times.append(seconds(since: start))
        }
        times.sort()
        let c = encoder.config
        print(String(format: "text encoder: %d layers, width %d, %@, %d tokens, %d threads, OpenBLAS %@",
                     c.layers, c.width, c.activation.rawValue, tokens.ids.count, Threads.count, Threads.blasCore))
        print(String(format: "load %.3f s; encode median %.4f s, min %.4f s, max %.4f s over %d runs",
                     loadSeconds, times[times.count / 2], times[0], times[times.count - 1], runs))
        if let saveOutput {
            try reportingErrors {
                try SafetensorsWriter.write(
                    [("last_hidden_state", output.lastHiddenState), ("pooled", output.pooled)],
                    to: URL(fileURLWithPath: saveOutput))
            }
        }
    }

    private func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
