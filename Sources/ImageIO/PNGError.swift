/// A PNG that could not be encoded or written.
///
/// The message names the destination and says which step failed, with libpng's message or the
/// system's errno text:
///
///     /out/00001.png: cannot publish '/out/.00001.png.k3x9qa' as '/out/00001.png': File exists
public struct PNGError: Error, CustomStringConvertible, Equatable {
    /// The destination file; nil when encoding to memory.
    public let path: String?
    public let reason: String
    /// errno of the failed system call (nil for encoding failures), so a caller can tell an
    /// existing destination (`EEXIST` with `overwrite: false`) from a real failure and pick
    /// another name.
    public let errorNumber: Int32?

    init(path: String?, reason: String, errorNumber: Int32? = nil) {
        self.path = path
        self.reason = reason
        self.errorNumber = errorNumber
    }

    public var description: String {
        if let path { return "\(path): \(reason)" }
        return "PNG encoding: \(reason)"
    }
}
