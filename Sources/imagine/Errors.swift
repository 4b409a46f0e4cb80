import ArgumentParser
import Foundation

/// Runs `body`; a thrown error is printed as one `error: …` line on stderr and the command exits
/// with status 1 (ArgumentParser would otherwise print usage, as for a mistyped option).
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}
