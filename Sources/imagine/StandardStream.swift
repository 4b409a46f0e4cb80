import Foundation

/// Writing to standard output or standard error with every failure an error (a full disk, a
/// closed pipe: SIGPIPE is ignored, so that arrives as EPIPE), never a trap.
enum StandardStream {
    /// Writes all of `text` to standard output.
    static func output(_ text: String) throws {
        try write(text, to: STDOUT_FILENO)
    }

    /// Writes to standard error; a failure there has nowhere to be reported, so it is dropped.
    static func error(_ text: String) {
        try? write(text, to: STDERR_FILENO)
    }

    private static func write(_ text: String, to descriptor: Int32) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw StreamError(stream: descriptor == STDOUT_FILENO ? "standard output" : "standard error",
                                  reason: String(cString: strerror(errno)))
            }
            offset += written
        }
    }
}

/// A write to standard output or standard error failed.
struct StreamError: Error, CustomStringConvertible {
    let stream: String
    let reason: String
    var description: String { "cannot write to \(stream): \(reason)" }
}
