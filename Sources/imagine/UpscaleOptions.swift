import ArgumentParser

/// `--upscale`, shared by the commands that save PNGs: the saved picture is enlarged after
/// decoding (the model still renders at its own size), bicubic as Pillow's `Image.BICUBIC`.
struct UpscaleOptions: ParsableArguments {
    static let largest = 8

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Save the PNG enlarged n times (bicubic, byte for byte Pillow's BICUBIC); the model still renders "
            + "at its own size (e.g. imagine-mini's 128² becomes 512² with 4).", valueName: "n"))
    var upscale = 1

    func validate() throws {
        guard (1...Self.largest).contains(upscale) else {
            throw ValidationError("--upscale must be 1…\(Self.largest), got \(upscale)")
        }
    }
}
