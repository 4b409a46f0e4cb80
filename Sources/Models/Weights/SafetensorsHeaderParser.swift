import Foundation

/// Reads and validates a safetensors header.
///
/// Hand-written rather than JSONSerialization because the format needs exact integers (offsets
/// of multi-gigabyte files must not pass through Double), must reject duplicate keys (which
/// tensor would win is otherwise undefined), and should report errors with a byte position and
/// the tensor being read. It also has no recursion except in skipping unknown fields, which is
/// depth-limited, so no header can exhaust the stack.
struct SafetensorsHeaderParser {
    struct Header {
        var tensors: [String: SafetensorsTensorInfo]
        var metadata: [String: String]
        /// File offset of the data section: 8 + N.
        var dataStart: Int
    }

    /// The header's JSON: file bytes 8 ..< 8 + N.
    let json: UnsafeRawBufferPointer
    let fileName: String
    /// Bytes after the header; every tensor's data_offsets must lie within 0...dataSize.
    let dataSize: Int
    /// Index into `json` of the next byte to read.
    var position = 0
    /// The tensor whose entry is being read, for error messages.
    var context: String?

    /// Unknown fields of a tensor entry may hold nested values; deeper than this is an attack or
    /// garbage, not a checkpoint.
    static let maxNesting = 64

    /// Checks the length prefix, parses the JSON and checks every tensor against the data section.
    static func parseFile(_ file: UnsafeRawBufferPointer, fileName: String) throws -> Header {
        func failure(_ reason: String) -> SafetensorsError { SafetensorsError(file: fileName, reason: reason) }
        guard file.count >= 8 else {
            throw failure("file is \(file.count) bytes, too short for the 8-byte header length")
        }
        let headerLength = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        // Compared as UInt64 against what follows the prefix, so a length near 2^64 cannot
        // overflow into a small number.
        let available = file.count - 8
        guard headerLength > 0 else { throw failure("header length is 0; expected a JSON object") }
        guard headerLength <= UInt64(available) else {
            throw failure("header length \(headerLength) runs past the end of the file "
                          + "(\(available) bytes follow the 8-byte length)")
        }
        guard headerLength <= UInt64(SafetensorsFile.maxHeaderLength) else {
            throw failure("header length \(headerLength) exceeds the \(SafetensorsFile.maxHeaderLength)-byte limit")
        }
        let length = Int(headerLength)
        var parser = SafetensorsHeaderParser(json: UnsafeRawBufferPointer(rebasing: file[8 ..< 8 + length]),
                                  fileName: fileName, dataSize: available - length)
        let (tensors, metadata) = try parser.parseRoot()
        try checkNoOverlap(tensors, fileName: fileName)
        return Header(tensors: tensors, metadata: metadata, dataStart: 8 + length)
    }

    /// Tensors may leave gaps in the data section but never share bytes: sorted by start, each
    /// non-empty range must begin at or after the previous one's end.
    private static func checkNoOverlap(_ tensors: [String: SafetensorsTensorInfo], fileName: String) throws {
        let stored = tensors.values.filter { !$0.byteRange.isEmpty }.sorted {
            ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name)
        }
        for (previous, next) in zip(stored, stored.dropFirst())
        where next.byteRange.lowerBound < previous.byteRange.upperBound {
            throw SafetensorsError(
                file: fileName, tensor: next.name,
                reason: "data_offsets \(format(next.byteRange)) overlap those of '\(previous.name)' "
                    + format(previous.byteRange))
        }
    }

    // MARK: Schema

    /// The root object: `"__metadata__"` or tensor entries, then only whitespace (writers pad the
    /// header with spaces to align the data section).
    private mutating func parseRoot() throws -> ([String: SafetensorsTensorInfo], [String: String]) {
        skipWhitespace()
        guard peek == UInt8(ascii: "{") else {
            throw failure("the header must be a JSON object, found \(describeValue())")
        }
        position += 1
        var tensors: [String: SafetensorsTensorInfo] = [:]
        var metadata: [String: String]?
        var isFirst = true
        while let key = try nextKey(isFirst: &isFirst) {
            if key == "__metadata__" {
                guard metadata == nil else { throw failure("\"__metadata__\" appears twice") }
                metadata = try parseMetadata()
            } else {
                context = key
                guard tensors[key] == nil else { throw failure("appears twice in the header") }
                tensors[key] = try parseTensor(named: key)
                context = nil
            }
        }
        skipWhitespace()
        guard position == json.count else { throw syntaxError("expected only spaces after the header's closing '}'") }
        return (tensors, metadata ?? [:])
    }

    private mutating func parseMetadata() throws -> [String: String] {
        guard peek == UInt8(ascii: "{") else {
            throw failure("\"__metadata__\" must be an object of strings, found \(describeValue())")
        }
        position += 1
        var metadata: [String: String] = [:]
        var isFirst = true
        while let key = try nextKey(isFirst: &isFirst) {
            guard peek == UInt8(ascii: "\"") else {
                throw failure("\"__metadata__\" value for \"\(key)\" must be a string, found \(describeValue())")
            }
            guard metadata[key] == nil else { throw failure("\"__metadata__\" has \"\(key)\" twice") }
            metadata[key] = try parseString()
        }
        return metadata
    }

    /// `{"dtype": "F16", "shape": [768], "data_offsets": [begin, end]}`, checked against the data
    /// section. Unknown fields are skipped, as the reference reader does.
    private mutating func parseTensor(named name: String) throws -> SafetensorsTensorInfo {
        guard peek == UInt8(ascii: "{") else { throw failure("entry must be an object, found \(describeValue())") }
        position += 1
        var dtype: SafetensorsDType?
        var shape: [Int]?
        var offsets: [Int]?
        var isFirst = true
        while let field = try nextKey(isFirst: &isFirst) {
            switch field {
            case "dtype":
                guard dtype == nil else { throw failure("has \"dtype\" twice") }
                guard peek == UInt8(ascii: "\"") else {
                    throw failure("\"dtype\" must be a string, found \(describeValue())")
                }
                let text = try parseString()
                guard let known = SafetensorsDType(rawValue: text) else { throw failure("unknown dtype \"\(text)\"") }
                dtype = known
            case "shape":
                guard shape == nil else { throw failure("has \"shape\" twice") }
                shape = try parseIntegerArray(field: "shape")
            case "data_offsets":
                guard offsets == nil else { throw failure("has \"data_offsets\" twice") }
                offsets = try parseIntegerArray(field: "data_offsets")
            default:
                try skipValue(depth: 1)
            }
        }
        guard let dtype else { throw failure("missing \"dtype\"") }
        guard let shape else { throw failure("missing \"shape\"") }
        guard let offsets else { throw failure("missing \"data_offsets\"") }
        guard offsets.count == 2 else {
            throw failure("data_offsets must be [begin, end], found \(offsets.count) numbers")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw failure("data_offsets [\(begin), \(end)] end before they begin") }

        // Size before bounds, so that a shape or dtype that disagrees with the offsets is reported
        // as such even when the offsets also run past the end.
        // elements = product(shape), bytes = elements × byteSize, neither allowed to wrap.
        var elements = 1
        for extent in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw failure("shape \(shape) has more elements than Int can count") }
            elements = product
        }
        let (byteCount, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, byteCount == end - begin else {
            let needed = overflow ? "more bytes than Int can count" : "\(byteCount) bytes"
            throw failure("shape \(shape) × \(dtype.rawValue) needs \(needed) but data_offsets span \(end - begin)")
        }
        guard end <= dataSize else {
            throw failure("data_offsets [\(begin), \(end)] run past the end of the data section "
                          + "(\(dataSize) bytes after the header)")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, byteRange: begin ..< end)
    }

    /// `[1, 2, 3]` of non-negative integers (shape extents, data offsets).
    private mutating func parseIntegerArray(field: String) throws -> [Int] {
        guard peek == UInt8(ascii: "[") else {
            throw failure("\"\(field)\" must be an array of integers, found \(describeValue())")
        }
        position += 1
        var values: [Int] = []
        var isFirst = true
        while try nextElement(isFirst: &isFirst) {
            values.append(try parseNonNegativeInteger(field: field))
        }
        return values
    }

    /// An exact non-negative integer that fits in Int. "2.0", "1e3" and "-1" are refused rather
    /// than rounded: a shape or an offset must not be approximate.
    private mutating func parseNonNegativeInteger(field: String) throws -> Int {
        guard peek == UInt8(ascii: "-") || isDigit(peek) else {
            throw failure("\"\(field)\" must hold non-negative integers, found \(describeValue())")
        }
        let token = try scanNumber()
        var value = 0
        for byte in json[token] {
            guard isDigit(byte) else {
                throw failure("\"\(field)\" must hold non-negative integers, found \(text(token))")
            }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw failure("\"\(field)\" value \(text(token)) is too large") }
            value = sum
        }
        return value
    }

    // MARK: JSON grammar

    /// The byte at `position`, or 0 at the end of the header (0 is not valid anywhere in JSON
    /// outside a string, and strings check the end themselves).
    private var peek: UInt8 { position < json.count ? json[position] : 0 }

    private func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private mutating func skipWhitespace() {
        while position < json.count {
            switch json[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): position += 1
            default: return
            }
        }
    }

    /// Steps to the next member of an object whose '{' was consumed: returns its key with the
    /// position on its value, or nil once the closing '}' is consumed.
    private mutating func nextKey(isFirst: inout Bool) throws -> String? {
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            // Closes an empty object or one after its last member; `{"a": 1,}` fails below instead.
            position += 1
            return nil
        }
        if !isFirst {
            guard peek == UInt8(ascii: ",") else { throw syntaxError("expected ',' or '}'") }
            position += 1
            skipWhitespace()
        }
        isFirst = false
        guard peek == UInt8(ascii: "\"") else { throw syntaxError("expected a quoted key") }
        let key = try parseString()
        skipWhitespace()
        guard peek == UInt8(ascii: ":") else { throw syntaxError("expected ':' after a key") }
        position += 1
        skipWhitespace()
        return key
    }

    /// Steps to the next element of an array whose '[' was consumed: true with the position on the
    /// element, or false once the closing ']' is consumed.
    private mutating func nextElement(isFirst: inout Bool) throws -> Bool {
        skipWhitespace()
        if isFirst {
            isFirst = false
            if peek == UInt8(ascii: "]") {
                position += 1
                return false
            }
            return true
        }
        switch peek {
        case UInt8(ascii: "]"):
            position += 1
            return false
        case UInt8(ascii: ","):
            position += 1
            skipWhitespace()
            return true
        default:
            throw syntaxError("expected ',' or ']'")
        }
    }

    /// Consumes any JSON value (an unknown field's).
    private mutating func skipValue(depth: Int) throws {
        switch peek {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < Self.maxNesting else { throw failure("JSON nested deeper than \(Self.maxNesting) levels") }
            let isObject = peek == UInt8(ascii: "{")
            position += 1
            var isFirst = true
            if isObject {
                while try nextKey(isFirst: &isFirst) != nil { try skipValue(depth: depth + 1) }
            } else {
                while try nextElement(isFirst: &isFirst) { try skipValue(depth: depth + 1) }
            }
        case UInt8(ascii: "\""):
            _ = try parseString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber()
        case UInt8(ascii: "t"): try skipLiteral("true")
        case UInt8(ascii: "f"): try skipLiteral("false")
        case UInt8(ascii: "n"): try skipLiteral("null")
        default:
            throw syntaxError("expected a value")
        }
    }

    private mutating func skipLiteral(_ literal: StaticString) throws {
        let expected = UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        guard json.count - position >= expected.count,
              json[position ..< position + expected.count].elementsEqual(expected)
        else { throw syntaxError("expected '\(literal)'") }
        position += expected.count
    }

    /// Consumes a number per the JSON grammar (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`)
    /// and returns where its text lies in `json`.
    private mutating func scanNumber() throws -> Range<Int> {
        let start = position
        if peek == UInt8(ascii: "-") { position += 1 }
        if peek == UInt8(ascii: "0") {
            position += 1
        } else {
            try scanDigits()
        }
        if peek == UInt8(ascii: ".") {
            position += 1
            try scanDigits()
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            try scanDigits()
        }
        return start ..< position
    }

    /// One or more digits.
    private mutating func scanDigits() throws {
        guard isDigit(peek) else { throw syntaxError("expected a digit") }
        while isDigit(peek) { position += 1 }
    }

    /// A quoted string at `position`, which must be on its opening quote.
    private mutating func parseString() throws -> String {
        position += 1
        let start = position
        // Names rarely contain escapes: decode them straight from the header when they don't.
        while position < json.count {
            switch json[position] {
            case UInt8(ascii: "\""):
                let string = try decodeUTF8(UnsafeRawBufferPointer(rebasing: json[start ..< position]), at: start)
                position += 1
                return string
            case UInt8(ascii: "\\"):
                return try parseEscapedString(from: start)
            case 0 ..< 0x20:
                throw syntaxError("control character inside a string")
            default:
                position += 1
            }
        }
        throw syntaxError("unterminated string")
    }

    /// The rest of a string from its first backslash, with `start` just after its opening quote.
    private mutating func parseEscapedString(from start: Int) throws -> String {
        var utf8 = Array(json[start ..< position])
        while position < json.count {
            let byte = json[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return try utf8.withUnsafeBytes { try decodeUTF8($0, at: start) }
            case UInt8(ascii: "\\"):
                let escape = peek
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    let scalar = try parseUnicodeEscape()
                    UTF8.encode(scalar) { utf8.append($0) }
                default:
                    position -= 1
                    throw syntaxError("invalid escape in a string")
                }
            case 0 ..< 0x20:
                position -= 1
                throw syntaxError("control character inside a string")
            default:
                utf8.append(byte)
            }
        }
        throw syntaxError("unterminated string")
    }

    /// The scalar of `\uXXXX` (position after the `u`), joining a UTF-16 surrogate pair
    /// `\uD83D\uDE00` into one scalar.
    private mutating func parseUnicodeEscape() throws -> Unicode.Scalar {
        let unit = try parseHex4()
        switch unit {
        case 0xD800 ..< 0xDC00:
            guard peek == UInt8(ascii: "\\") else { throw syntaxError("lone UTF-16 high surrogate in \\u escape") }
            position += 1
            guard peek == UInt8(ascii: "u") else { throw syntaxError("lone UTF-16 high surrogate in \\u escape") }
            position += 1
            let low = try parseHex4()
            guard (0xDC00 ..< 0xE000).contains(low) else {
                throw syntaxError("invalid UTF-16 surrogate pair in \\u escape")
            }
            return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
        case 0xDC00 ..< 0xE000:
            throw syntaxError("lone UTF-16 low surrogate in \\u escape")
        default:
            return Unicode.Scalar(unit)!
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0 ..< 4 {
            let digit: UInt8
            switch peek {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = peek - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = peek - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = peek - UInt8(ascii: "A") + 10
            default: throw syntaxError("expected 4 hex digits after \\u")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// Strict UTF-8 decoding. `String(decoding:)` repairs bad bytes with U+FFFD, which changes them,
    /// so the input was valid exactly when re-encoding gives it back unchanged.
    private func decodeUTF8(_ bytes: UnsafeRawBufferPointer, at start: Int) throws -> String {
        let string = String(decoding: bytes, as: UTF8.self)
        guard string.utf8.elementsEqual(bytes) else {
            throw failure("string at file byte \(8 + start - 1) is not valid UTF-8")
        }
        return string
    }

    // MARK: Errors

    private func failure(_ reason: String) -> SafetensorsError {
        SafetensorsError(file: fileName, tensor: context, reason: reason)
    }

    private func syntaxError(_ expectation: String) -> SafetensorsError {
        failure("invalid JSON at file byte \(8 + position): \(expectation), found \(describeNext())")
    }

    /// What is at `position`, for a syntax error: "'x'", "byte 0x80", "the end of the header".
    private func describeNext() -> String {
        guard position < json.count else { return "the end of the header" }
        let byte = json[position]
        guard (0x21 ..< 0x7F).contains(byte) else { return "byte 0x\(String(byte, radix: 16, uppercase: true))" }
        return "'\(Character(Unicode.Scalar(byte)))'"
    }

    /// The kind of value at `position`, for a value of the wrong type: "an array", "a number".
    private func describeValue() -> String {
        switch peek {
        case UInt8(ascii: "{"): "an object"
        case UInt8(ascii: "["): "an array"
        case UInt8(ascii: "\""): "a string"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): "a number"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
        case UInt8(ascii: "n"): "null"
        default: describeNext()
        }
    }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: json[range]), as: UTF8.self)
    }
}

/// `[begin, end]`, as data_offsets are written in the header.
private func format(_ range: Range<Int>) -> String { "[\(range.lowerBound), \(range.upperBound)]" }
