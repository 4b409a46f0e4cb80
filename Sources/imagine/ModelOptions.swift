import ArgumentParser
import Foundation
import Models

/// `--model` and what a model may need besides its own files.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "A diffusers folder or a single-file .safetensors checkpoint (SD 1.x, 2.x, Turbo, LCM).",
        valueName: "path"))
    var model: String

    @Option(help: ArgumentHelp(
        "A CLIP tokenizer folder (vocab.json, merges.txt) for single-file checkpoints, which do not carry one.",
        valueName: "dir"))
    var tokenizer: String?

    @Option(help: ArgumentHelp("A TAESD folder (diffusers AutoencoderTiny) for --decoder tiny.", valueName: "dir"))
    var tinyDecoder: String?

    @Option(help: ArgumentHelp(
        "Override what the model predicts: epsilon or v_prediction. SD 2.x single files do not say; "
            + "they default to v_prediction (2.0-v, 2.1); use epsilon for 2.x-base and SD-Turbo files.",
        valueName: "type"))
    var predictionType: String?

    func validate() throws {
        if let predictionType, PredictionType(rawValue: predictionType) == nil {
            throw ValidationError("--prediction-type must be epsilon, v_prediction or sample, got '\(predictionType)'")
        }
    }

    func load() throws -> DiffusionModel {
        try DiffusionModel.load(
            path: URL(fileURLWithPath: model),
            tokenizer: tokenizer.map { URL(fileURLWithPath: $0) },
            tinyDecoder: tinyDecoder.map { URL(fileURLWithPath: $0) },
            predictionType: predictionType.flatMap(PredictionType.init(rawValue:)))
    }
}
