import Foundation
import ImageIO
import Testing

@Suite struct PNGFileWritingTests {
    let image = noiseImage(width: 7, height: 5, seed: 42)
    let text: [(key: String, value: String)] = [("parameters", "a cat 🐱")]

    @Test func writesTheEncodedBytesAndNothingElse() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("00001.png")
            try PNGWriter.write(image, text: text, to: url, overwrite: false)
            #expect(try [UInt8](Data(contentsOf: url)) == PNGWriter.encode(image, text: text))
            #expect(try directoryListing(directory) == ["00001.png"])
        }
    }

    @Test func overwriteReplacesAnExistingFile() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("out.png")
            try Data("old".utf8).write(to: url)
            try PNGWriter.write(image, text: text, to: url, overwrite: true)
            #expect(decodePNG(try [UInt8](Data(contentsOf: url))) == image)
            #expect(try directoryListing(directory) == ["out.png"])
        }
    }

    @Test func withoutOverwriteAnExistingFileIsRefusedAndKept() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("out.png")
            try Data("old".utf8).write(to: url)
            let error = #expect(throws: PNGError.self) {
                try PNGWriter.write(image, text: text, to: url, overwrite: false)
            }
            #expect(error?.errorNumber == EEXIST)
            #expect(error?.path == url.path)
            #expect(error?.description.hasPrefix("\(url.path): cannot publish '\(directory.path)/.out.png.") == true)
            #expect(error?.description.hasSuffix("as '\(url.path)': File exists") == true)
            #expect(try Data(contentsOf: url) == Data("old".utf8))
            #expect(try directoryListing(directory) == ["out.png"])
        }
    }

    @Test func racingWritersWithoutOverwriteNeverReplaceEachOther() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("race.png")
            let images = (0..<8).map { noiseImage(width: 16, height: 16, seed: UInt64($0)) }
            let outcomes = Outcomes()
            DispatchQueue.concurrentPerform(iterations: images.count) { i in
                do {
                    try PNGWriter.write(images[i], text: [], to: url, overwrite: false)
                    outcomes.record(winner: i)
                } catch let error as PNGError {
                    outcomes.record(errorNumber: error.errorNumber)
                } catch {
                    outcomes.record(errorNumber: nil)
                }
            }
            let (winners, errorNumbers) = outcomes.snapshot
            #expect(winners.count == 1)
            #expect(errorNumbers == Array(repeating: EEXIST, count: images.count - 1))
            let winner = try #require(winners.first)
            #expect(decodePNG(try [UInt8](Data(contentsOf: url))) == images[winner])
            #expect(try directoryListing(directory) == ["race.png"])
        }
    }

    @Test func encodingFailureLeavesTheDestinationUntouched() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("out.png")
            try Data("old".utf8).write(to: url)
            let error = #expect(throws: PNGError.self) {
                try PNGWriter.write(image, text: [("bad  key", "v")], to: url, overwrite: true)
            }
            #expect(error?.path == url.path)
            #expect(error?.description.hasPrefix("\(url.path): invalid PNG keyword") == true)
            #expect(try Data(contentsOf: url) == Data("old".utf8))
            #expect(try directoryListing(directory) == ["out.png"])
        }
    }

    @Test func missingDirectoryIsReportedWithThePath() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("missing/out.png")
            let error = #expect(throws: PNGError.self) {
                try PNGWriter.write(image, text: text, to: url, overwrite: true)
            }
            #expect(error?.errorNumber == ENOENT)
            #expect(error?.description.hasPrefix("\(url.path): cannot create temporary file") == true)
            #expect(error?.description.hasSuffix(": No such file or directory") == true)
            let listing = try directoryListing(directory)
            #expect(listing.isEmpty)
        }
    }

    @Test func parentThatIsAFileIsReported() throws {
        try withTemporaryDirectory { directory in
            try Data().write(to: directory.appendingPathComponent("file"))
            let url = directory.appendingPathComponent("file/out.png")
            let error = #expect(throws: PNGError.self) {
                try PNGWriter.write(image, text: text, to: url, overwrite: true)
            }
            #expect(error?.errorNumber == ENOTDIR)
            #expect(error?.description.contains(url.path) == true)
        }
    }

    /// Root ignores directory permissions, so this only runs for other users.
    @Test(.enabled(if: geteuid() != 0, "root can write into read-only directories"))
    func readOnlyDirectoryIsReportedAndLeftClean() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("out.png")
            try Data("old".utf8).write(to: url)
            chmod(directory.path, 0o555)
            defer { chmod(directory.path, 0o755) }
            let error = #expect(throws: PNGError.self) {
                try PNGWriter.write(image, text: text, to: url, overwrite: true)
            }
            #expect(error?.errorNumber == EACCES)
            #expect(error?.description.hasPrefix("\(url.path): cannot create temporary file") == true)
            #expect(try Data(contentsOf: url) == Data("old".utf8))
            #expect(try directoryListing(directory) == ["out.png"])
        }
    }

    /// The image gets the permissions any new file would (umask applied to 0666), not the 0600
    /// a mkstemp temporary file starts with.
    @Test func permissionsFollowTheUmask() throws {
        try withTemporaryDirectory { directory in
            let reference = directory.appendingPathComponent("reference")
            close(open(reference.path, O_WRONLY | O_CREAT | O_EXCL, 0o666))
            let url = directory.appendingPathComponent("out.png")
            try PNGWriter.write(image, text: text, to: url, overwrite: false)
            let mode = { (url: URL) in try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int }
            #expect(try mode(url) == mode(reference))
        }
    }
}

/// Results of the racing writers, collected from several threads.
private final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var winners: [Int] = []
    private var errorNumbers: [Int32?] = []

    func record(winner: Int) { lock.withLock { winners.append(winner) } }
    func record(errorNumber: Int32?) { lock.withLock { errorNumbers.append(errorNumber) } }
    var snapshot: (winners: [Int], errorNumbers: [Int32?]) { lock.withLock { (winners, errorNumbers) } }
}
