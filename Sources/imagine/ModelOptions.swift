import ArgumentParser
import Foundation
import Kernels
import Models

// Typed options: ArgumentParser refuses an unknown value itself, listing the known ones.
extension SamplerKind: ExpressibleByArgument {}
extension DecoderKind: ExpressibleByArgument {}

/// A numeric option's value is taken as given, so `--cfg -5` is a negative scale and `--steps -1`
/// is refused as a bad step count rather than read as a missing value: every numeric option says
/// `parsing: .unconditional`. Seeds are 0…2⁶⁴−1, as the PNG and the JSON line record them.
func parseSeed(_ text: String) throws -> UInt64 {
    guard let seed = UInt64(text) else { throw ValidationError("a seed is an integer 0…\(UInt64.max), got '\(text)'") }
    return seed
}

/// `--model` and what a model may need besides its own files.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "A diffusers folder (SD 1.x, 2.x, Turbo, LCM, SDXL, SSD-1B, SDXS, BK-SDM, …) or a single-file .safetensors "
            + "checkpoint (SD 1.x, 2.x, SDXL) "
            + "(default: $IMAGINE_MODEL, else the embedded imagine-mini in Weights/).",
        valueName: "path"))
    var model: String?

    @Option(help: ArgumentHelp(
        "A CLIP tokenizer folder (vocab.json, merges.txt) for single-file checkpoints, which do not carry one "
            + "(SDXL: the folder's tokenizer/, with tokenizer_2/ beside it).",
        valueName: "dir"))
    var tokenizer: String?

    @Option(help: ArgumentHelp("A TAESD folder (diffusers AutoencoderTiny) for --decoder tiny.", valueName: "dir"))
    var tinyDecoder: String?

    @Option(help: ArgumentHelp(
        "Override what the model predicts: epsilon or v_prediction. SD 2.x single files do not say; "
            + "they default to v_prediction (2.0-v, 2.1); use epsilon for 2.x-base and SD-Turbo files.",
        valueName: "type"))
    var predictionType: String?

    @OptionGroup var precisionOptions: PrecisionOptions

    func validate() throws {
        if let predictionType, PredictionType(rawValue: predictionType) == nil {
            throw ValidationError("--prediction-type must be epsilon, v_prediction or sample, got '\(predictionType)'")
        }
    }

    /// Loads the model in `--precision`, else in whichever of fp32 and bf16 is faster here.
    func load() throws -> DiffusionModel {
        try DiffusionModel.load(
            path: try modelPath(),
            tokenizer: tokenizer.map { URL(fileURLWithPath: $0) },
            tinyDecoder: tinyDecoder.map { URL(fileURLWithPath: $0) },
            predictionType: predictionType.flatMap(PredictionType.init(rawValue:)),
            precision: precisionOptions.resolved(.auto))
    }
}

extension ModelOptions {
    /// `--model`, else `$IMAGINE_MODEL`, else imagine-mini: in the checkout this binary was built
    /// from, or under the working directory (a moved or copied checkout).
    func modelPath() throws -> URL {
        if let model { return URL(fileURLWithPath: model) }
        if let fromEnvironment = ProcessInfo.processInfo.environment["IMAGINE_MODEL"], !fromEnvironment.isEmpty {
            return URL(fileURLWithPath: fromEnvironment)
        }
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [packageRoot, URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
            .map { $0.appendingPathComponent("Weights/imagine-mini") }
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("model_index.json").path) }) {
            return found
        }
        throw ValidationError("""
            no --model given and the embedded model is not at \(candidates.map(\.path).joined(separator: " or ")); \
            pass --model PATH or set IMAGINE_MODEL
            """)
    }
}
