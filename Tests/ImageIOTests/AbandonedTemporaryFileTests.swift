import Foundation
import ImageIO
import Testing

/// A write killed between creating its temporary file and renaming it leaves the file behind; the
/// next run removes it, but never one a live writer still holds (its lock says so).
@Suite struct AbandonedTemporaryFileTests {
    @Test func unlockedTemporaryFilesGoLockedOnesAndOtherFilesStay() throws {
        try withTemporaryDirectory { directory in
            for name in [".00001-a.png.k1ll3d", ".b.png.zzzzzz", ".held.png.abc123", "00001-a.png", ".hidden.png",
                         ".x.png.ABCDEF", ".x.png.ab", "plain.abc123"] {
                try Data([1]).write(to: directory.appendingPathComponent(name))
            }
            // A live writer: the lock is held on its own open file description.
            let held = open(directory.appendingPathComponent(".held.png.abc123").path, O_RDONLY)
            #expect(held >= 0 && flock(held, LOCK_EX) == 0)
            defer { close(held) }

            #expect(PNGWriter.removeAbandonedTemporaryFiles(in: directory) == 2)
            #expect(try directoryListing(directory)
                    == [".held.png.abc123", ".hidden.png", ".x.png.ABCDEF", ".x.png.ab", "00001-a.png", "plain.abc123"])
        }
    }

    @Test func aWriteAfterASweepStillSucceeds() throws {
        try withTemporaryDirectory { directory in
            let image = noiseImage(width: 3, height: 2, seed: 1)
            PNGWriter.removeAbandonedTemporaryFiles(in: directory)
            try PNGWriter.write(image, text: [], to: directory.appendingPathComponent("a.png"), overwrite: false)
            #expect(PNGWriter.removeAbandonedTemporaryFiles(in: directory) == 0)
            #expect(try directoryListing(directory) == ["a.png"])
        }
    }
}
