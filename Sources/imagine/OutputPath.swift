import Foundation

/// Where output files go. A prompt file is data and may come from someone else, so a name it
/// gives (`"out"`) may only ever name a file inside the output folder; everything the program
/// writes goes through `join`.
enum OutputPath {
    /// `name` checked and placed under `folder`: relative, every component a plain name (not
    /// empty, not starting with '.', so no `..`, no hidden files, no temporary-file names), no
    /// NUL, each at most 255 bytes.
    static func join(_ name: String, under folder: URL) throws -> URL {
        try checked(name).reduce(folder) { $0.appendingPathComponent($1) }
    }

    /// The components of an acceptable name relative to `base` (how errors name the folder), or
    /// why it is refused.
    static func checked(_ name: String, base: String = "--out-dir") throws -> [String] {
        func refuse(_ why: String) -> OutputPathError { OutputPathError(name: name, reason: why) }
        guard !name.isEmpty else { throw refuse("it is empty") }
        guard !name.utf8.contains(0) else { throw refuse("it contains a NUL character") }
        guard !name.hasPrefix("/") else { throw refuse("it is an absolute path; names are relative to \(base)") }
        guard !name.hasPrefix("~") else { throw refuse("'~' is not expanded; names are relative to \(base)") }
        guard !name.hasSuffix("/") else { throw refuse("it names a folder, not a file") }
        let components = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for component in components {
            guard !component.isEmpty else { throw refuse("it has an empty path component ('//')") }
            guard component != ".." else { throw refuse("'..' would leave \(base)") }
            guard component != "." else { throw refuse("'.' is not a file name") }
            guard !component.hasPrefix(".") else { throw refuse("'\(component)' is a hidden name (starts with '.')") }
            guard component.utf8.count <= 255 else { throw refuse("a component is \(component.utf8.count) bytes, more than 255") }
        }
        return components
    }

    /// Creates `folder` and its parents, with the system's reason in words when that fails.
    static func createFolder(_ folder: URL) throws {
        var status = stat()
        if stat(folder.path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFDIR else { throw OutputFolderError(path: folder.path, reason: "it exists and is not a folder") }
            return
        }
        guard errno == ENOENT else { throw OutputFolderError(path: folder.path, reason: String(cString: strerror(errno))) }
        let parent = folder.deletingLastPathComponent()
        if parent.path != folder.path { try createFolder(parent) }
        // EEXIST: another process made it meanwhile (or a dangling symlink holds the name: checked again).
        guard mkdir(folder.path, 0o777) == 0 || (errno == EEXIST && stat(folder.path, &status) == 0
                                                   && status.st_mode & S_IFMT == S_IFDIR) else {
            throw OutputFolderError(path: folder.path, reason: String(cString: strerror(errno)))
        }
    }
}

/// A prompt file's output name that would leave the output folder (or is not a file name).
struct OutputPathError: Error, CustomStringConvertible {
    let name: String
    let reason: String
    var description: String { "output name \"\(name)\" refused: \(reason)" }
}

/// The output folder (or a folder in it) cannot be created.
struct OutputFolderError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "cannot create the output folder '\(path)': \(reason)" }
}
