/// One iTerm2 inline file (https://iterm2.com/documentation-images.html):
/// ESC ] 1337 ; File = key=value;… : <base64> BEL (or ESC \).
struct ITerm2InlineFile: Equatable, Sendable {
    /// `inline`, `width`, `height`, `preserveAspectRatio`, `name`, `size`, …, values as sent.
    var arguments: [String: String]
    /// The argument keys in the order they were sent.
    var argumentOrder: [String]
    /// The file itself, base64-decoded (a PNG from the presenter).
    var file: [UInt8]
    /// Where the OSC starts in the stream.
    var offset: Int
}

enum ITerm2ImageError: Error, Equatable, CustomStringConvertible {
    case stream(TerminalStreamError)
    case missingColon(offset: Int)
    case malformedArgument(offset: Int, argument: String)
    case badBase64(offset: Int, Base64Error)
    /// The `size` argument promises a length the file does not have.
    case sizeMismatch(offset: Int, declared: Int, actual: Int)

    var description: String {
        switch self {
        case let .stream(error): "\(error)"
        case let .missingColon(offset):
            "the iTerm2 File command at byte \(offset) has no ':' between its arguments and the file"
        case let .malformedArgument(offset, argument):
            "the iTerm2 File command at byte \(offset) has argument \"\(argument)\", not key=value"
        case let .badBase64(offset, error):
            "the file of the iTerm2 command at byte \(offset): \(error)"
        case let .sizeMismatch(offset, declared, actual):
            "the iTerm2 File command at byte \(offset) declares size=\(declared) but its file has \(actual) bytes"
        }
    }
}

/// Finds the iTerm2 inline files in a terminal byte stream; other OSCs (titles, other 1337
/// commands), text and escape sequences are passed over.
enum ITerm2ImageDecoder {
    static func files(in stream: [UInt8]) throws -> [ITerm2InlineFile] {
        let sequences: [TerminalSequence]
        do { sequences = try TerminalStream.split(stream) } catch let error as TerminalStreamError {
            throw ITerm2ImageError.stream(error)
        }
        let introducer = Array("1337;File=".utf8)
        var files: [ITerm2InlineFile] = []
        for sequence in sequences where sequence.kind == .operatingSystemCommand {
            guard sequence.body.starts(with: introducer) else { continue }
            let rest = sequence.body.dropFirst(introducer.count)
            guard let colon = rest.firstIndex(of: UInt8(ascii: ":")) else {
                throw ITerm2ImageError.missingColon(offset: sequence.offset)
            }
            var arguments: [String: String] = [:]
            var argumentOrder: [String] = []
            for item in rest[..<colon].split(separator: UInt8(ascii: ";")) {
                let text = String(decoding: item, as: UTF8.self)
                let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty else {
                    throw ITerm2ImageError.malformedArgument(offset: sequence.offset, argument: text)
                }
                arguments[String(parts[0])] = String(parts[1])
                argumentOrder.append(String(parts[0]))
            }
            let file: [UInt8]
            do { file = try Base64Decoder.decode(rest[(colon + 1)...]) } catch let error as Base64Error {
                throw ITerm2ImageError.badBase64(offset: sequence.offset, error)
            }
            if let declared = arguments["size"].flatMap({ Int($0) }), declared != file.count {
                throw ITerm2ImageError.sizeMismatch(offset: sequence.offset, declared: declared, actual: file.count)
            }
            files.append(ITerm2InlineFile(arguments: arguments, argumentOrder: argumentOrder, file: file,
                                          offset: sequence.offset))
        }
        return files
    }
}
