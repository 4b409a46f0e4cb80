import Models

/// What the status line says.
public struct LiveStatus: Sendable, Equatable {
    public var modelName: String
    /// How the model computes: its precision and the fp32 kernel family ("bf16, SkylakeX").
    public var compute: String?
    /// How the terminal draws the picture ("kitty", "sixel", "symbols", …).
    public var graphics: String?
    public var seed: UInt64
    public var previewSteps: Int
    public var refineSteps: Int
    /// What each keystroke renders: its side in pixels and decoder (chosen per model to keep
    /// typing fluid, so the line says what was chosen).
    public var previewSize: Int?
    public var previewDecoder: DecoderKind?
    /// Keystroke → preview ready, for the newest preview shown.
    public var previewLatencyMs: Int?
    /// Whether the picture on screen is the full-quality render of the current prompt.
    public var showingRefined = false
    /// Step k of n of the refine render in flight.
    public var refineProgress: StepProgress?
    public var message: Message?

    public struct StepProgress: Sendable, Equatable {
        public let step: Int
        public let steps: Int
    }

    public enum Message: Sendable, Equatable {
        case saving
        case saved(path: String)
        case error(String)
        /// Something the user can act on, such as how to get real pixels inside tmux.
        case notice(String)
    }

    public init(modelName: String, seed: UInt64, previewSteps: Int, refineSteps: Int) {
        self.modelName = modelName
        self.seed = seed
        self.previewSteps = previewSteps
        self.refineSteps = refineSteps
    }

    /// One line, most useful first after the fixed facts, so a narrow terminal cuts the least
    /// useful end:
    /// `tiny-sd · bf16, SkylakeX · seed 42 · steps 1/20 · 23 ms · sixel · refining 3/20 · saved out/x.png · preview 256² tiny`
    public var text: String {
        var parts = [modelName] + (compute.map { [$0] } ?? []) + ["seed \(seed)", "steps \(previewSteps)/\(refineSteps)"]
        parts.append(previewLatencyMs.map { "\($0) ms" } ?? "– ms")
        if let graphics { parts.append(graphics) }
        if let progress = refineProgress {
            parts.append("refining \(progress.step)/\(progress.steps)")
        } else if showingRefined {
            parts.append("refined")
        }
        switch message {
        case .saving: parts.append("saving…")
        case .saved(let path): parts.append("saved \(path)")
        case .error(let reason): parts.append("error: \(reason)")
        case .notice(let text): parts.append(text)
        case nil: break
        }
        if let previewSize, let previewDecoder { parts.append("preview \(previewSize)² \(previewDecoder.rawValue)") }
        return parts.joined(separator: " · ")
    }
}
