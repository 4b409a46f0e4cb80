/// A model's weights failed to load: names the file, the key and the numbers that disagree.
public struct WeightError: Error, CustomStringConvertible, Equatable {
    public let origin: String
    public let key: String
    public let reason: String
    public var description: String { "\(origin): '\(key)': \(reason)" }
}
