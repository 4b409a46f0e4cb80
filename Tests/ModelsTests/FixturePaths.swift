import Foundation

/// Where the committed parity fixtures live (Tests/Fixtures), found from this file's path so the
/// tests need no resource bundle.
enum FixturePaths {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures")

    static func url(_ relative: String) -> URL { fixtures.appendingPathComponent(relative) }
}
