import Foundation

/// Writing to standard output or standard error with every failure an error (a full disk, a
/// closed pipe: SIGPIPE is ignored, so that arrives as EPIPE), never a trap.
enum StandardStream {
    /// Writes all of `text` to standard output.
    static func output(_ text: String) throws {
        try write(Array(text.utf8), to: STDOUT_FILENO)
    }

    /// Writes all of `bytes` (a picture's escape sequences) to standard output.
    static func output(_ bytes: [UInt8]) throws {
        try write(bytes, to: STDOUT_FILENO)
    }

    /// Writes to standard error; a failure there has nowhere to be reported, so it is dropped.
    static func error(_ text: String) {
        try? write(Array(text.utf8), to: STDERR_FILENO)
    }

    static func write(_ bytes: [UInt8], to descriptor: Int32) throws {
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
