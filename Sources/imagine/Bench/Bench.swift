import ArgumentParser
import Dispatch
import Foundation
import Kernels
import Models

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time model components (medians over several runs).",
        discussion: """
            Timings are wall-clock medians after one warm-up run; peak RSS is the process's \
            high-water mark. Compare against a reference measured in the same session (the \
            machine may be shared and noisy): `imagine bench table` runs every component of a model \
            here, in PyTorch and in OpenVINO on the same weights and inputs, and prints the ratios.
            """,
        subcommands: [BenchTable.self, BenchGenerate.self, BenchTextEncoder.self, BenchComponent.self, BenchLive.self,
                      BenchGraphics.self, BenchLoRA.self])
}

struct BenchTextEncoder: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text-encoder",
        abstract: "Time the CLIP text encoder on one prompt.",
        discussion: """
            EXAMPLES
              imagine bench text-encoder ~/models/sd-turbo --threads 2 --runs 10
              imagine bench text-encoder sd15 --save-output out.safetensors
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

    @OptionGroup var precisionOptions: PrecisionOptions

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
            (try CLIPTextModel(folder: encoderFolder, precision: precisionOptions.resolved()),
             try CLIPTokenizer(folder: tokenizerFolder))
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
        defer { print(String(format: "peak RSS %.0f MB", peakResidentMegabytes())) }
        let c = encoder.config
        print(String(format: "text encoder: %d layers, width %d, %@, %d tokens, %d threads, %@, %@",
                     c.layers, c.width, c.activation.rawValue, tokens.ids.count, Threads.count,
                     precisionOptions.resolved().rawValue, BLASKernelSelection.description))
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

}

/// The middle value (the upper one of an even count).
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

/// The process's peak resident set (VmHWM in /proc/self/status), in MB; 0 where unavailable.
func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          // "VmHWM:\t  563140 kB": the number is padded to 8 columns after the tab, so from 10 GB on
          // no space is left before it.
          let kilobytes = Double(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
    else { return 0 }
    return kilobytes / 1024
}

/// `imagine bench unet|vae|tiny-decoder`: one image-side component on given or seeded inputs.
struct BenchComponent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "component",
        abstract: "Time the U-Net, the VAE decoder or the tiny decoder at an image size.",
        discussion: """
            Inputs come from --inputs (safetensors with `sample`, `encoder_hidden_states`, \
            `timestep` for the U-Net, and `text_embeds` [batch, pooled width] and `time_ids` \
            [batch, 6] for an SDXL one; `latents` for the decoders) so another implementation can \
            be fed the same tensors, or are drawn from seed 0 (an SDXL U-Net's time ids then say \
            this size, uncropped). A model whose vae/ is an AutoencoderTiny (SDXS) has its tiny \
            decoder there and its full VAE, if any, in vae_large/.

            EXAMPLES
              imagine bench component unet ~/models/sd-turbo --size 512
              imagine bench component vae ~/models/sd15 --size 256 --runs 3
            """)

    enum Component: String, ExpressibleByArgument, CaseIterable { case unet, vae, tinyDecoder = "tiny-decoder" }

    @Argument(help: "unet, vae or tiny-decoder.")
    var component: Component

    @Argument(help: ArgumentHelp("A diffusers folder (uses unet/, vae/ or vae_tiny/ — for SDXS vae/ or vae_large/) "
                                 + "or the component's own folder.", valueName: "model"))
    var model: String

    @Option(help: "Image size in pixels (square); latents are size / 8.")
    var size = 512

    @Option(help: "Batch size (2 is what classifier-free guidance runs).")
    var batch = 1

    @Option(help: "Timed runs after one warm-up run.")
    var runs = 3

    @Option(help: ArgumentHelp("Inputs to use (safetensors).", valueName: "file"))
    var inputs: String?

    @Option(help: ArgumentHelp("Write the output (`output`, fp32 safetensors) here.", valueName: "file"))
    var saveOutput: String?

    @OptionGroup var precisionOptions: PrecisionOptions

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1, got \(runs)") }
        if size < 8 || size % 8 != 0 { throw ValidationError("--size must be a positive multiple of 8, got \(size)") }
        if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
    }

    func run() throws {
        threadOptions.apply()
        let folder = try componentFolder()
        let given = try inputs.map { path in try reportingErrors { try SafetensorsFile(url: URL(fileURLWithPath: path)) } }
        var generator = TorchGenerator(seed: 0)
        func input(_ name: String, _ shape: [Int]) throws -> Tensor {
            if let given { return try reportingErrors { try given.tensor(name) } }
            return generator.randn(shape)
        }
        func latentShape(_ channels: Int) -> [Int] { [batch, channels, size / 8, size / 8] }

        let loadStart = DispatchTime.now()
        let call: () throws -> Tensor
        var description: String
        switch component {
        case .unet:
            let unet = try reportingErrors { try UNet2DConditionModel(folder: folder, precision: precisionOptions.resolved()) }
            let config = unet.config
            let sample = try input("sample", latentShape(config.inChannels))
            let context = try input("encoder_hidden_states", [batch, 77, config.crossAttentionDim])
            let timestep = try given.map { try $0.tensor("timestep").data[0] } ?? 999
            let condition = config.timeConditionDim.map { Tensor(zeros: [batch, $0]) }
            let textTime = try config.textTimeEmbedding.map { layout in
                let pooled = try input("text_embeds", [batch, layout.pooledWidth])
                let side = Float(size)
                let ids = try given.map { file in try reportingErrors { try file.tensor("time_ids") } }
                    ?? Tensor(shape: [batch, 6], data: Array(repeating: [side, side, 0, 0, side, side], count: batch).flatMap { $0 })
                guard ids.shape == [batch, UNetConfig.TextTimeEmbedding.timeIDCount] else {
                    throw ValidationError("time_ids must be [\(batch), \(UNetConfig.TextTimeEmbedding.timeIDCount)], got \(ids.shape)")
                }
                return TextTimeCondition(pooled: pooled, timeIDs: (0..<batch).map { Array(ids.data[$0 * 6 ..< ($0 + 1) * 6]) })
            }
            call = { try unet(sample, timestep: timestep, context: context, timeCondition: condition, textTime: textTime) }
            description = "U-Net\(BenchTable.familyName(config).map { " " + $0 } ?? "") \(config.blockOutChannels), "
                + "cross-attention \(config.crossAttentionDim)" + (textTime == nil ? "" : ", pooled text and time ids")
        case .vae:
            let vae = try reportingErrors { try AutoencoderKL(folder: folder, precision: precisionOptions.resolved()) }
            let latents = try input("latents", latentShape(vae.config.latentChannels))
            call = { try vae.decode(latents) }
            description = "VAE decoder \(vae.config.blockOutChannels)"
        case .tinyDecoder:
            let tiny = try reportingErrors { try TinyAutoencoder(folder: folder, precision: precisionOptions.resolved()) }
            let latents = try input("latents", latentShape(tiny.config.latentChannels))
            call = { try tiny.decode(latents) }
            description = "tiny decoder (TAESD)"
        }
        let loadSeconds = seconds(since: loadStart)
        var output = try call()
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now()
            output = try call()
            times.append(seconds(since: start))
        }
        times.sort()
        print("\(description), \(size)×\(size), batch \(batch), \(Threads.count) threads, "
              + "\(precisionOptions.resolved().rawValue), \(BLASKernelSelection.description)")
        print(String(format: "load %.3f s; median %.4f s, min %.4f s, max %.4f s over %d runs; peak RSS %.0f MB",
                     loadSeconds, times[times.count / 2], times[0], times[times.count - 1], runs,
                     peakResidentMegabytes()))
        if let saveOutput {
            try reportingErrors { try SafetensorsWriter.write([("output", output)], to: URL(fileURLWithPath: saveOutput)) }
        }
    }

    /// MODEL's folder for the component, as a pipeline loads it: unet/; vae/ or vae_tiny/, except
    /// that a vae/ holding an AutoencoderTiny (SDXS) is the tiny decoder, beside vae_large/ as the
    /// VAE. MODEL itself when it has no such folder (a component's own folder).
    private func componentFolder() throws -> URL {
        let root = URL(fileURLWithPath: model)
        func existing(_ name: String) -> URL? {
            let url = root.appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) ? url : nil
        }
        let tinyVAE = try existing("vae").map { try BenchTable.diffusersClass(of: $0) == "AutoencoderTiny" } ?? false
        let name = switch component {
        case .unet: "unet"
        case .vae: tinyVAE ? "vae_large" : "vae"
        case .tinyDecoder: tinyVAE ? "vae" : "vae_tiny"
        }
        if let folder = existing(name) { return folder }
        if tinyVAE && component == .vae {
            printError("error: \(model)/vae is an AutoencoderTiny and there is no vae_large/: time it as tiny-decoder")
            throw ExitCode(1)
        }
        return root
    }
}
