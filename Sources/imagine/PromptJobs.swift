import Foundation
import Models

/// One image to make, from the command line or one line of a prompt file: the prompt and
/// whatever the line sets; the command's options fill in the rest (`applying`).
struct PromptJob: Equatable {
    /// 1-based position: the line number in a prompt file, the argument position otherwise.
    var number: Int
    var prompt: String
    var negative: String?
    var seed: UInt64?
    var steps: Int?
    var cfg: Float?
    var width: Int?
    var height: Int?
    var sampler: SamplerKind?
    var decoder: DecoderKind?
    /// Enlargement of the saved PNG (JSONL `upscale`), over `--upscale`.
    var upscale: Int?
    /// Explicit output name (JSONL `out`), relative to --out-dir (checked by `OutputPath`).
    var out: String?
    /// Image to image (JSONL `init_image`): a picture relative to the prompt file's folder, which
    /// it can never leave (checked by `OutputPath.checked`), over `--init-image`.
    var initImage: String?
    /// JSONL `strength`, over `--strength`.
    var strength: Double?

    init(number: Int, prompt: String) {
        self.number = number
        self.prompt = prompt
    }

    /// The full request: this job's settings over the command's `defaults`.
    func applying(_ defaults: GenerationRequest) -> GenerationRequest {
        var r = defaults
        r.prompt = prompt
        r.negativePrompt = negative ?? r.negativePrompt
        r.seed = seed ?? r.seed
        r.steps = steps ?? r.steps
        r.guidanceScale = cfg ?? r.guidanceScale
        r.width = width ?? r.width
        r.height = height ?? r.height
        r.sampler = sampler ?? r.sampler
        r.decoder = decoder ?? r.decoder
        r.strength = strength ?? r.strength
        return r
    }
}

/// A prompt-file line that could not be read; the other lines still render.
struct PromptLineError: Error, CustomStringConvertible {
    let file: String
    let line: Int
    let reason: String
    var description: String { line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)" }
}

/// A prompt file's non-blank lines in order: each a job or the reason it was refused. Both count
/// as positions for `--shard`, so every line belongs to exactly one shard.
typealias PromptFileEntry = Result<PromptJob, PromptLineError>

/// Reads a prompt file: plain text (one prompt per line), or JSONL (one object per line with
/// `prompt` and optionally `negative`, `seed`, `steps`, `cfg`, `width`, `height`, `sampler`,
/// `decoder`, `upscale`, `out`, `init_image`, `strength`). A line is JSON when it starts with `{`, so both forms may be mixed. Blank
/// lines and lines starting with `#` are skipped.
func readPromptFile(_ path: String) throws -> [PromptFileEntry] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw PromptLineError(file: path, line: 0, reason: "cannot read the file")
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw PromptLineError(file: path, line: 0, reason: "not UTF-8 text")
    }
    var entries: [PromptFileEntry] = []
    for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
        if line.isEmpty || line.hasPrefix("#") { continue }
        do {
            entries.append(.success(try parsePromptLine(line, number: index + 1)))
        } catch let problem as LineProblem {
            entries.append(.failure(PromptLineError(file: path, line: index + 1, reason: problem.reason)))
        }
    }
    return entries
}

/// Why one line was refused (becomes a `PromptLineError` with the file and line number).
struct LineProblem: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Parses one non-blank line.
func parsePromptLine(_ line: String, number: Int) throws -> PromptJob {
    guard line.hasPrefix("{") else { return PromptJob(number: number, prompt: line) }
    guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
        throw LineProblem("not a valid JSON object")
    }
    let known: Set = ["prompt", "negative", "seed", "steps", "cfg", "width", "height", "sampler", "decoder", "upscale",
                      "out", "init_image", "strength"]
    if let unknown = object.keys.filter({ !known.contains($0) }).sorted().first {
        throw LineProblem("unknown key \"\(unknown)\" (known: \(known.sorted().joined(separator: ", ")))")
    }
    func string(_ key: String) throws -> String? {
        guard let value = object[key] else { return nil }
        guard let s = value as? String else { throw LineProblem("\"\(key)\" must be a string, got \(describeJSON(value))") }
        return s
    }
    func integer(_ key: String) throws -> Int? {
        guard let value = object[key] else { return nil }
        guard let n = wholeNumber(value), n.magnitude <= UInt64(Int.max) else {
            throw LineProblem("\"\(key)\" must be an integer, got \(describeJSON(value))")
        }
        return n.negative ? -Int(n.magnitude) : Int(n.magnitude)
    }
    guard let prompt = try string("prompt") else { throw LineProblem("missing \"prompt\"") }
    var job = PromptJob(number: number, prompt: prompt)
    job.negative = try string("negative")
    if let value = object["seed"] {
        // Any seed the command records (0…2⁶⁴−1) reads back.
        guard let n = wholeNumber(value), !n.negative || n.magnitude == 0 else {
            throw LineProblem("\"seed\" must be an integer 0…\(UInt64.max), got \(describeJSON(value))")
        }
        job.seed = n.magnitude
    }
    job.steps = try integer("steps")
    if let value = object["cfg"] {
        guard let n = value as? NSNumber, !isBoolean(n), n.floatValue.isFinite else {
            throw LineProblem("\"cfg\" must be a finite number, got \(describeJSON(value))")
        }
        job.cfg = n.floatValue
    }
    job.width = try integer("width")
    job.height = try integer("height")
    if let name = try string("sampler") {
        guard let sampler = SamplerKind(rawValue: name) else {
            throw LineProblem("unknown sampler \"\(name)\" (known: \(SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        job.sampler = sampler
    }
    if let name = try string("decoder") {
        guard let decoder = DecoderKind(rawValue: name) else { throw LineProblem("unknown decoder \"\(name)\" (vae, tiny, latent)") }
        job.decoder = decoder
    }
    if let upscale = try integer("upscale") {
        guard (1...UpscaleOptions.largest).contains(upscale) else {
            throw LineProblem("\"upscale\" must be 1…\(UpscaleOptions.largest), got \(upscale)")
        }
        job.upscale = upscale
    }
    if let out = try string("out") {
        do { _ = try OutputPath.checked(out) } catch let error as OutputPathError { throw LineProblem(error.description) }
        job.out = out
    }
    if let name = try string("init_image") {
        // Another's prompt file must not pull pictures from anywhere on this machine into its images.
        do {
            _ = try OutputPath.checked(name, base: "the prompt file's folder")
        } catch let error as OutputPathError {
            throw LineProblem("\"init_image\" \"\(name)\" refused: \(error.reason)")
        }
        job.initImage = name
    }
    if let value = object["strength"] {
        guard let n = value as? NSNumber, !isBoolean(n), n.doubleValue.isFinite else {
            throw LineProblem("\"strength\" must be a number 0…1, got \(describeJSON(value))")
        }
        job.strength = n.doubleValue
    }
    return job
}

/// A JSON number without a fractional part, exactly (JSONSerialization keeps integers up to
/// 2⁶⁴−1 as integers; a number written with a fraction or exponent arrives as a Double and counts
/// when it is whole and below 2⁵³, where Doubles are exact).
func wholeNumber(_ value: Any) -> (negative: Bool, magnitude: UInt64)? {
    guard let n = value as? NSNumber, !isBoolean(n) else { return nil }
    switch String(cString: n.objCType) {
    case "Q", "L", "I", "S", "C": return (false, n.uint64Value)
    case "q", "l", "i", "s": return (n.int64Value < 0, n.int64Value.magnitude)
    default:
        let d = n.doubleValue
        guard d == d.rounded(), d.magnitude < 9_007_199_254_740_992 else { return nil }
        return (d < 0, UInt64(d.magnitude))
    }
}

/// A JSON value as an error message names it: `the string "5"`, `true`, `null`, `an array`, `1.5`.
func describeJSON(_ value: Any) -> String {
    switch value {
    case let s as String: return "the string \"\(s)\""
    case let n as NSNumber: return isBoolean(n) ? (n.boolValue ? "true" : "false") : n.stringValue
    case is NSNull: return "null"
    case is [Any]: return "an array"
    case is [String: Any]: return "an object"
    default: return "\(value)"
    }
}

/// JSON `true`/`false` arrive as NSNumbers too, and on Linux `1 is Bool` holds for any number 1:
/// only the stored type tells them apart ("c", a C char, for booleans).
func isBoolean(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

/// `--shard i/n`: this machine renders the jobs whose position p (0-based) has p mod n = i.
struct Shard: Equatable {
    let index: Int
    let count: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n else { return nil }
        index = i
        count = n
    }

    func contains(position: Int) -> Bool { position % count == index }
}

/// A file-name-safe short form of a prompt: lower-case words joined by '-', at most 48 characters,
/// without its `<lora:…>` tags.
func slug(_ prompt: String) -> String {
    var result = ""
    var pendingDash = false
    for scalar in PromptLoRATags.removing(from: prompt).lowercased().unicodeScalars {
        if CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII {
            if pendingDash && !result.isEmpty { result.append("-") }
            result.unicodeScalars.append(scalar)
            pendingDash = false
            if result.count >= 48 { break }
        } else {
            pendingDash = true
        }
    }
    return result.isEmpty ? "image" : result
}
