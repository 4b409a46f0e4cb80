import Foundation
import ImageIO

/// Screenshots written as PNGs for a person to look at: those of failed checks always, every
/// checked one when IMAGINE_SCREENSHOTS names a folder (where they all go, for CI to keep).
enum KeptScreenshots {
    static let folder: URL = {
        if let path = ProcessInfo.processInfo.environment["IMAGINE_SCREENSHOTS"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return FileManager.default.temporaryDirectory.appendingPathComponent("imagine-screenshots")
    }()

    static var keepsAll: Bool { !(ProcessInfo.processInfo.environment["IMAGINE_SCREENSHOTS"] ?? "").isEmpty }

    /// Writes `image` as `<name>.png` in `folder` when `failed` or when every screenshot is kept;
    /// the sentence to add to a failure message ("" when nothing was written).
    static func keep(_ image: RGBImage, named name: String, failed: Bool) -> String {
        guard failed || keepsAll else { return "" }
        let url = folder.appendingPathComponent("\(name).png")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try PNGWriter.write(image, text: [], to: url, overwrite: true)
            return "; the screenshot is \(url.path)"
        } catch {
            return "; the screenshot could not be written to \(url.path): \(error)"
        }
    }
}
