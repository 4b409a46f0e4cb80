import Foundation
import Kernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An element type of the safetensors format, spelled as in the file's header.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2: 1
        case .i16, .u16, .f16, .bf16: 2
        case .i32, .u32, .f32: 4
        case .i64, .u64, .f64: 8
        }
    }
}

/// One header entry, validated: its bytes lie inside the data section, overlap no other tensor's,
/// and are exactly `elementCount × dtype.byteSize` long.
public struct SafetensorsTensorInfo: Sendable {
    public let name: String
    public let dtype: SafetensorsDType
    /// Row-major; `[]` for a 0-d tensor (one element).
    public let shape: [Int]
    /// Where the stored bytes lie, relative to the start of the data section (file byte 8 + N).
    public let byteRange: Range<Int>

    /// The product of `shape`; the file was refused at open if it overflows.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors checkpoint, memory-mapped and validated when opened.
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON (tensor name →
/// `{"dtype", "shape", "data_offsets": [begin, end]}` plus an optional `"__metadata__"` object of
/// strings), then the data section that the offsets index into.
///
/// Every inconsistency a download or an exporter can produce is found by `init`, so the accessors
/// trust the header: a model either gets the file whole or a `SafetensorsError` naming what is
/// wrong. Immutable after `init`, hence safe to share between threads.
public final class SafetensorsFile: @unchecked Sendable {
    public let url: URL
    /// The header's `"__metadata__"` (empty when absent).
    public let metadata: [String: String]

    /// How errors name the file: its path.
    private let fileName: String
    /// Owns the mapping that `data` points into.
    private let storage: FileBytes
    /// The bytes after the header; `SafetensorsTensorInfo.byteRange` indexes into them.
    private let data: UnsafeRawBufferPointer
    private let infos: [String: SafetensorsTensorInfo]
    private let sortedNames: [String]

    /// Refused header lengths beyond this: no real header comes close (8,700 tensors take 1 MB),
    /// and the reference reader uses the same limit.
    static let maxHeaderLength = 100_000_000

    /// Maps the file read-only and validates all of it; the data stays on disk (or in the page
    /// cache) until a tensor is read.
    public convenience init(url: URL) throws {
        try self.init(storage: FileBytes(mapping: url.path), url: url, fileName: url.path)
    }

    /// Opens a copy of `bytes` as if it were a file called `name`, through the same validation as
    /// `init(url:)`: lets tests check many generated files without a disk write each.
    convenience init(bytes: UnsafeRawBufferPointer, name: String) throws {
        try self.init(storage: FileBytes(copying: bytes), url: URL(fileURLWithPath: name, isDirectory: false),
                      fileName: name)
    }

    private init(storage: FileBytes, url: URL, fileName: String) throws {
        let header = try HeaderParser.parseFile(storage.bytes, fileName: fileName)
        self.url = url
        self.fileName = fileName
        self.storage = storage
        self.data = UnsafeRawBufferPointer(rebasing: storage.bytes[header.dataStart...])
        self.infos = header.tensors
        self.metadata = header.metadata
        self.sortedNames = header.tensors.keys.sorted()
    }

    /// Every tensor's name, sorted.
    public var tensorNames: [String] { sortedNames }

    public func info(_ name: String) -> SafetensorsTensorInfo? { infos[name] }

    public func contains(_ name: String) -> Bool { infos[name] != nil }

    /// The tensor `name` converted to fp32, with its stored shape.
    ///
    /// F32, F16, BF16 and F64 convert; other dtypes (such as CLIP's int64 `position_ids`) throw,
    /// though the file itself opens fine. Large tensors convert on all threads.
    public func tensor(_ name: String) throws -> Tensor {
        guard let info = infos[name] else {
            throw SafetensorsError(file: fileName, tensor: name, reason: "not in the file")
        }
        let source = data.baseAddress! + info.byteRange.lowerBound
        let count = info.elementCount
        let values: [Float]
        switch info.dtype {
        case .f32: values = decode(source, count: count, as: UInt32.self) { Float(bitPattern: $0) }
        case .f16: values = decode(source, count: count, as: UInt16.self) { Float(Float16(bitPattern: $0)) }
        // bf16 is the top half of an fp32.
        case .bf16: values = decode(source, count: count, as: UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
        case .f64: values = decode(source, count: count, as: UInt64.self) { Float(Double(bitPattern: $0)) }
        case .bool, .u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64, .f8e4m3, .f8e5m2:
            throw SafetensorsError(
                file: fileName, tensor: name,
                reason: "dtype \(info.dtype.rawValue) cannot be converted to fp32 (only F32, F16, BF16 and F64 can)")
        }
        // The stored bytes are dead weight once converted: without this a model's peak RSS would
        // count its weights twice, as stored and as fp32.
        storage.releaseFromMemory(source, byteCount: info.byteRange.count)
        return Tensor(shape: info.shape, data: values)
    }

    /// The weight matrix `name` in `precision`, packed for `use` when bf16. For bf16 the stored
    /// values convert straight to bf16 bits (F32 and F16 rounded to nearest even, BF16 copied),
    /// so loading never holds the fp32 copy that would double the peak memory bf16 is meant to halve.
    public func matrix(_ name: String, precision: Precision, use: WeightUse) throws -> WeightMatrix {
        guard precision == .bf16, let info = infos[name], [.f32, .f16, .bf16].contains(info.dtype) else {
            return WeightMatrix(try tensor(name), precision: precision, use: use)
        }
        let source = data.baseAddress! + info.byteRange.lowerBound
        let count = info.elementCount
        let bits: [UInt16]
        switch info.dtype {
        case .bf16: bits = decode(source, count: count, as: UInt16.self) { $0 }
        case .f16: bits = decode(source, count: count, as: UInt16.self) { bfloat16Bits(Float(Float16(bitPattern: $0))) }
        default: bits = decode(source, count: count, as: UInt32.self) { bfloat16Bits(Float(bitPattern: $0)) }
        }
        storage.releaseFromMemory(source, byteCount: info.byteRange.count)
        return .bf16(PackedBFloat16Matrix(shape: info.shape, bits: bits, use: use))
    }

    /// The stored bytes of `name`, unconverted and possibly unaligned; valid while this object
    /// lives. For tests: models read tensors through `tensor` and `matrix`.
    func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let info = infos[name] else {
            throw SafetensorsError(file: fileName, tensor: name, reason: "not in the file")
        }
        return UnsafeRawBufferPointer(rebasing: data[info.byteRange])
    }
}

/// Converts `count` little-endian `Raw` values at `source` to fp32 (or, for bf16 weights, to bf16 bits).
///
/// Loads are unaligned because the format does not align offsets. Large tensors are split over
/// threads in contiguous runs, so each thread streams through its own pages. (Measured for a
/// 1.7 GB fp16 file: the conversion itself takes ~0.1 s on one core; first-touch page faults on
/// the 3.4 GB fp32 output take 1.5 s or more, and are the system's cost, not this loop's.)
@inline(__always)
private func decode<Raw: FixedWidthInteger, Value>(
    _ source: UnsafeRawPointer, count: Int, as _: Raw.Type, _ toFloat: (Raw) -> Value
) -> [Value] {
    [Value](unsafeUninitializedCapacity: count) { buffer, initialized in
        if let out = buffer.baseAddress {
            parallelFor(count, minimumPerThread: 1 << 16) { range in
                for i in range {
                    let raw = source.loadUnaligned(fromByteOffset: i * MemoryLayout<Raw>.size, as: Raw.self)
                    out[i] = toFloat(Raw(littleEndian: raw))
                }
            }
        }
        initialized = count
    }
}

/// The bytes of an open file. An object of its own so that they are released both with their
/// `SafetensorsFile` and when validation throws inside `SafetensorsFile.init`, before that object
/// exists.
private final class FileBytes {
    let bytes: UnsafeRawBufferPointer
    /// True for an mmap'd file (munmap), false for a heap copy (deallocate) or an empty file (nothing).
    private let isMapped: Bool

    /// Maps the file at `path` read-only. Like any mmap reader, this trusts that no one rewrites or
    /// truncates the file while it is open: Linux shows such changes through the mapping, and a
    /// read past a truncated end raises SIGBUS.
    init(mapping path: String) throws {
        func failure(_ what: String) -> SafetensorsError {
            SafetensorsError(file: path, reason: "\(what): \(String(cString: strerror(errno)))")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open") }
        // The mapping keeps its own reference to the file.
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw failure("cannot stat") }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw SafetensorsError(file: path, reason: "not a regular file")
        }
        let size = Int(status.st_size)
        guard size > 0 else {
            // mmap refuses length 0; validation reports the empty file as too short.
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            isMapped = false
            return
        }
        let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let base, base != MAP_FAILED else { throw failure("cannot mmap \(size) bytes") }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
        isMapped = true
    }

    /// Takes the mapped pages wholly inside `[start, start + byteCount)` out of this process's
    /// resident set. They stay in the kernel's page cache, and reading them again (`rawBytes`, a
    /// second `tensor` call) faults them back in from the file, so every pointer stays valid.
    func releaseFromMemory(_ start: UnsafeRawPointer, byteCount: Int) {
        guard isMapped else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + byteCount) / page * page
        guard end > first else { return }
        madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, MADV_DONTNEED)
    }

    init(copying source: UnsafeRawBufferPointer) {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: source.count, alignment: 16)
        copy.copyMemory(from: source)
        bytes = UnsafeRawBufferPointer(copy)
        isMapped = false
    }

    deinit {
        guard let base = bytes.baseAddress else { return }
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        } else {
            base.deallocate()
        }
    }
}

/// Reads and validates a safetensors header.
///
/// Hand-written rather than JSONSerialization because the format needs exact integers (offsets
/// of multi-gigabyte files must not pass through Double), must reject duplicate keys (which
/// tensor would win is otherwise undefined), and should report errors with a byte position and
/// the tensor being read. It also has no recursion except in skipping unknown fields, which is
/// depth-limited, so no header can exhaust the stack.
private struct HeaderParser {
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
        var parser = HeaderParser(json: UnsafeRawBufferPointer(rebasing: file[8 ..< 8 + length]),
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
