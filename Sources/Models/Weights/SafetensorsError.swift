/// A safetensors file that cannot be opened, or a tensor in it that cannot be produced.
///
/// Checkpoints arrive as multi-gigabyte downloads that can be truncated, mislabelled or written
/// by a buggy exporter, so the message always names the file, names the tensor whenever the
/// failure concerns one, and quotes the numbers that disagree:
///
///     model.safetensors: tensor 'text_model.embeddings.token_embedding.weight': shape [49408, 768] × F16 needs 75890688 bytes but data_offsets span 75890680
public struct SafetensorsError: Error, CustomStringConvertible, Equatable {
    /// The file's path (for a file opened from memory, the name it was given).
    public let file: String
    /// The tensor concerned; nil when the failure is about the file as a whole.
    public let tensor: String?
    public let reason: String

    init(file: String, tensor: String? = nil, reason: String) {
        self.file = file
        self.tensor = tensor
        self.reason = reason
    }

    public var description: String {
        if let tensor { return "\(file): tensor '\(tensor)': \(reason)" }
        return "\(file): \(reason)"
    }
}
