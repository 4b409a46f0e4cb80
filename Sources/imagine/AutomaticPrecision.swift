import Foundation
import Kernels

/// What `--precision auto` picks: bf16 where this CPU multiplies measurably faster in it, fp32
/// otherwise.
///
/// The measurement (`PrecisionCalibration`, about a second) runs the first time on a
/// CPU and is kept in the user's cache folder, one entry per CPU model and OpenBLAS kernel family,
/// so later runs only read a file. A cache that cannot be read or written costs a
/// measurement per run, never an error.
struct AutomaticPrecision: Codable, Equatable {
    var precision: Precision
    /// fp32 time ÷ bf16 time on the calibration products; nil where the CPU has no bf16 path.
    var bf16Speedup: Double?

    /// "bf16 (matrix products 2.1× faster than fp32 here)".
    var description: String {
        guard let bf16Speedup else { return "\(precision.rawValue) (this CPU has no bf16 path)" }
        return String(format: "%@ (bf16 matrix products %.2f× the speed of fp32 here)", precision.rawValue, bf16Speedup)
    }

    /// This machine's choice: cached, else measured now and cached.
    static let current: AutomaticPrecision = {
        let key = cacheKey
        let file = cacheFile
        var cache = file.flatMap { try? JSONDecoder().decode([String: AutomaticPrecision].self, from: Data(contentsOf: $0)) } ?? [:]
        if let known = cache[key] { return known }
        let measured = measure()
        cache[key] = measured
        if let file { try? write(cache, to: file) }
        return measured
    }()

    /// The same choice, measured now.
    static func measure() -> AutomaticPrecision {
        guard let speedup = PrecisionCalibration.bf16Speedup() else { return AutomaticPrecision(precision: .fp32, bf16Speedup: nil) }
        return AutomaticPrecision(precision: speedup >= PrecisionCalibration.bf16Threshold ? .bf16 : .fp32,
                                  bf16Speedup: (speedup * 100).rounded() / 100)
    }

    /// What the choice depends on: the CPU and the kernels fp32 runs on. Not the thread count:
    /// both paths split their products over the threads alike.
    static var cacheKey: String {
        let cpu = CPUFeatures.current
        return "\(cpu.description), stepping \(cpu.stepping); \(BLASKernels.coreName) kernels"
    }

    /// `$XDG_CACHE_HOME/imagine/precision.json`, else `~/.cache/imagine/precision.json`.
    static var cacheFile: URL? {
        let environment = ProcessInfo.processInfo.environment
        let base: URL
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            base = URL(fileURLWithPath: xdg)
        } else if let home = environment["HOME"], !home.isEmpty {
            base = URL(fileURLWithPath: home).appendingPathComponent(".cache")
        } else {
            return nil
        }
        return base.appendingPathComponent("imagine/precision.json")
    }

    /// Whole or not at all: written beside, then renamed over (two processes measuring at once
    /// each leave a complete file).
    private static func write(_ cache: [String: AutomaticPrecision], to file: URL) throws {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".precision-\(getpid()).json")
        try encoder.encode(cache).write(to: temporary)
        if rename(temporary.path, file.path) != 0 {
            try? FileManager.default.removeItem(at: temporary)
        }
    }
}

extension Precision: Codable {}
