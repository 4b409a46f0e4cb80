import Foundation
import Kernels
@testable import Models
import Testing

// MARK: Building files

/// Builds safetensors files for the tests. It writes the header itself rather than through the
/// reader's code, so a test can also build files no correct writer would.
struct SafetensorsTestFile {
    struct Entry {
        var name: String
        var dtype: String
        var shape: [Int]
        var bytes: [UInt8]
        /// Filler bytes before this tensor's data, to make its offsets unaligned.
        var gap: Int
    }

    var entries: [Entry] = []
    var metadata: [(key: String, value: String)] = []
    /// Spaces after the JSON, as writers add to align the data section.
    var padding = 0

    mutating func add(_ name: String, _ dtype: SafetensorsDType, shape: [Int], bytes: [UInt8], gap: Int = 0) {
        entries.append(Entry(name: name, dtype: dtype.rawValue, shape: shape, bytes: bytes, gap: gap))
    }

    /// Header length, header JSON, then each tensor's gap and data in order.
    var bytes: [UInt8] {
        var members = metadata.isEmpty ? [] : [
            "\"__metadata__\":{" + metadata.map { "\(jsonQuoted($0.key)):\(jsonQuoted($0.value))" }
                .joined(separator: ",") + "}",
        ]
        var data: [UInt8] = []
        for entry in entries {
            data += repeatElement(0xEE, count: entry.gap)
            let begin = data.count
            data += entry.bytes
            members.append("\(jsonQuoted(entry.name)):{\"dtype\":\"\(entry.dtype)\",\"shape\":\(entry.shape),"
                           + "\"data_offsets\":[\(begin),\(data.count)]}")
        }
        let json = "{" + members.joined(separator: ",") + "}" + String(repeating: " ", count: padding)
        return safetensorsBytes(header: Array(json.utf8), data: data)
    }
}

/// A file from its parts; `headerLength` overrides the true length of `header`.
private func safetensorsBytes(header: [UInt8], data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
    littleEndianBytes([headerLength ?? UInt64(header.count)]) + header + data
}

private func safetensorsBytes(header: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
    safetensorsBytes(header: Array(header.utf8), data: data, headerLength: headerLength)
}

func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
}

/// A JSON string literal; escapes what JSON requires and leaves other characters as UTF-8.
private func jsonQuoted(_ text: String) -> String {
    var quoted = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": quoted += "\\\""
        case "\\": quoted += "\\\\"
        case "\u{0}" ..< "\u{20}": quoted += String(format: "\\u%04x", scalar.value)
        default: quoted.unicodeScalars.append(scalar)
        }
    }
    return quoted + "\""
}

/// Runs `body` with a fresh directory, removed afterwards.
private func withSafetensorsTestDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("safetensors-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// Writes `bytes` to a temporary `model.safetensors` and opens it through the mmap path.
private func withSafetensorsFile<R>(_ bytes: [UInt8], _ body: (SafetensorsFile) throws -> R) throws -> R {
    try withSafetensorsTestDirectory { directory throws in
        let url = directory.appendingPathComponent("model.safetensors")
        try Data(bytes).write(to: url)
        return try body(SafetensorsFile(url: url))
    }
}

/// Asserts that opening `bytes` from disk fails with an error naming the file, naming `tensor`
/// (nil: no tensor) and giving a reason that contains `reason`.
private func expectOpenFailure(_ bytes: [UInt8], tensor: String?, reason: String,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
    try withSafetensorsTestDirectory { directory throws in
        let url = directory.appendingPathComponent("broken.safetensors")
        try Data(bytes).write(to: url)
        let error = #expect(throws: SafetensorsError.self, sourceLocation: sourceLocation) {
            _ = try SafetensorsFile(url: url)
        }
        guard let error else { return }
        #expect(error.file == url.path, sourceLocation: sourceLocation)
        #expect(error.description.hasPrefix(url.path + ": "), sourceLocation: sourceLocation)
        #expect(error.tensor == tensor, "\(error)", sourceLocation: sourceLocation)
        if let tensor {
            #expect(error.description.contains("tensor '\(tensor)': "), sourceLocation: sourceLocation)
        }
        #expect(error.reason.contains(reason), "\(error)", sourceLocation: sourceLocation)
    }
}

/// A header whose one tensor, `x`, has `entry` as its JSON entry.
private func headerWithEntry(_ entry: String) -> String { "{\"x\":\(entry)}" }

/// A data section for `x` as F32 [2].
private let eightBytes = [UInt8](repeating: 0, count: 8)

// MARK: Reading

@Suite struct SafetensorsTests {
    @Test func roundTripsFloatTensors() throws {
        var random = SplitMix64(seed: 1)
        let matrix: [Float] = [-1.5, 0, 2.25, 3e-7, -65504, .pi]
        // fp16 bit patterns with known values: 1, -2, the largest normal, the smallest subnormal, the
        // most negative (infinities are refused: RequestValidationTests).
        let halfBits: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0xFBFF]
        let halfValues: [Float] = [1, -2, 65504, 0x1p-24, -65504]
        // bf16 bit patterns: 1, -3, 0.5 (a [3, 1, 2] tensor holds six).
        let bf16Bits: [UInt16] = [0x3F80, 0xC040, 0x3F00, 0x3F80, 0xC040, 0x3F00]
        let bf16Values: [Float] = [1, -3, 0.5, 1, -3, 0.5]
        let doubles: [Double] = [1.0 / 3, -1e10, 0, 7.5]
        // Large enough that the conversion runs on several threads.
        let bigHalves = (0 ..< 7 * 42_859).map { _ in Float16(Float.random(in: -8 ... 8, using: &random)) }

        var file = SafetensorsTestFile()
        file.metadata = [("format", "pt"), ("note", "quote \" and é")]
        file.padding = 5
        file.add("matrix", .f32, shape: [2, 3], bytes: littleEndianBytes(matrix.map(\.bitPattern)), gap: 1)
        file.add("half", .f16, shape: [5], bytes: littleEndianBytes(halfBits), gap: 3)
        file.add("brain", .bf16, shape: [3, 1, 2], bytes: littleEndianBytes(bf16Bits), gap: 1)
        file.add("double", .f64, shape: [2, 2], bytes: littleEndianBytes(doubles.map(\.bitPattern)), gap: 5)
        file.add("scalar", .f32, shape: [], bytes: littleEndianBytes([Float(42).bitPattern]), gap: 2)
        file.add("empty", .f16, shape: [0, 4], bytes: [], gap: 1)
        file.add("big", .f16, shape: [7, 42_859, 1], bytes: littleEndianBytes(bigHalves.map(\.bitPattern)), gap: 1)

        try withSafetensorsFile(file.bytes) { st throws in
            #expect(st.tensorNames == ["big", "brain", "double", "empty", "half", "matrix", "scalar"])
            #expect(st.metadata == ["format": "pt", "note": "quote \" and é"])
            #expect(st.contains("half") && !st.contains("missing"))

            #expect(try st.tensor("matrix") == Tensor(shape: [2, 3], data: matrix))
            #expect(try st.tensor("half") == Tensor(shape: [5], data: halfValues))
            #expect(try st.tensor("brain") == Tensor(shape: [3, 1, 2], data: bf16Values))
            #expect(try st.tensor("double") == Tensor(shape: [2, 2], data: doubles.map { Float($0) }))
            #expect(try st.tensor("scalar") == Tensor(shape: [], data: [42]))
            #expect(try st.tensor("empty") == Tensor(shape: [0, 4], data: []))
            #expect(try st.tensor("big") == Tensor(shape: [7, 42_859, 1], data: bigHalves.map { Float($0) }))

            // Gaps of 1, 3, 1, 5, 2 bytes put these at odd offsets.
            let half = try #require(st.info("half"))
            #expect(half.dtype == .f16 && half.shape == [5] && half.elementCount == 5)
            #expect(half.byteRange == 1 + 24 + 3 ..< 1 + 24 + 3 + 10)
            #expect(Array(try st.rawBytes("half")) == littleEndianBytes(halfBits))
            #expect(st.info("scalar")?.elementCount == 1)
            #expect(try st.rawBytes("empty").isEmpty)

            // Converting releases the stored pages from memory; reading them again brings them
            // back from the file, unchanged.
            #expect(try st.tensor("big") == Tensor(shape: [7, 42_859, 1], data: bigHalves.map { Float($0) }))
            #expect(Array(try st.rawBytes("big")) == littleEndianBytes(bigHalves.map(\.bitPattern)))
        }
    }

    @Test func readsEscapedAndUnicodeNames() throws {
        // "caf\u00e9" is "café"; "\ud83d\ude00" is one emoji written as a UTF-16 surrogate pair.
        let header = #"{"caf\u00e9":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"# +
            #""a\"b\\c\/\n\ud83d\ude00":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"# +
            #""ü":{"dtype":"U8","shape":[],"data_offsets":[2,3],"extra":{"nested":[1,-2.5e3,true,null]}}}"#
        try withSafetensorsFile(safetensorsBytes(header: header, data: [7, 8, 9])) { st throws in
            #expect(st.tensorNames == ["a\"b\\c/\n😀", "café", "ü"])
            #expect(Array(try st.rawBytes("café")) == [7])
            #expect(Array(try st.rawBytes("a\"b\\c/\n😀")) == [8])
            #expect(st.info("ü")?.shape == [])
        }
    }

    @Test func headerMayBeSurroundedByWhitespace() throws {
        let header = " \n{\"x\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}\t\r\n        "
        let data = littleEndianBytes([Float(1).bitPattern, Float(-1).bitPattern])
        try withSafetensorsFile(safetensorsBytes(header: header, data: data)) { st throws in
            #expect(try st.tensor("x") == Tensor(shape: [2], data: [1, -1]))
            #expect(st.metadata.isEmpty)
        }
    }

    /// Tensors may leave unused bytes between and after them, and zero-size tensors may sit
    /// anywhere, even inside another tensor's bytes.
    @Test func allowsGapsAndEmptyTensorsInsideOthers() throws {
        let header = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]},"# +
            #""e":{"dtype":"F32","shape":[0],"data_offsets":[2,2]},"# +
            #""b":{"dtype":"U8","shape":[1],"data_offsets":[3,4]}}"#
        try withSafetensorsFile(safetensorsBytes(header: header, data: [0, 1, 2, 3, 4, 5])) { st throws in
            #expect(Array(try st.rawBytes("a")) == [1, 2])
            #expect(Array(try st.rawBytes("b")) == [3])
            #expect(try st.tensor("e").count == 0)
        }
    }

    /// Real CLIP checkpoints hold an int64 `position_ids`: the file opens; only converting it fails.
    @Test func nonFloatTensorOpensButDoesNotConvert() throws {
        var file = SafetensorsTestFile()
        file.add("text_model.embeddings.position_ids", .i64, shape: [1, 3], bytes: littleEndianBytes([Int64(0), 1, 2]))
        file.add("w", .f32, shape: [1], bytes: littleEndianBytes([Float(2).bitPattern]))
        try withSafetensorsFile(file.bytes) { st throws in
            #expect(try st.tensor("w") == Tensor(shape: [1], data: [2]))
            #expect(Array(try st.rawBytes("text_model.embeddings.position_ids")) == littleEndianBytes([Int64(0), 1, 2]))
            let error = #expect(throws: SafetensorsError.self) { try st.tensor("text_model.embeddings.position_ids") }
            #expect(error?.file == st.url.path)
            #expect(error?.tensor == "text_model.embeddings.position_ids")
            #expect(error?.reason.contains("I64") == true)
        }
    }

    @Test func missingTensorThrowsNamingIt() throws {
        var file = SafetensorsTestFile()
        file.add("w", .f32, shape: [1], bytes: littleEndianBytes([Float(2).bitPattern]))
        try withSafetensorsFile(file.bytes) { st throws in
            #expect(st.info("nope") == nil)
            for read in [{ _ = try st.tensor("nope") }, { _ = try st.rawBytes("nope") }] {
                let error = #expect(throws: SafetensorsError.self) { try read() }
                #expect(error?.description == "\(st.url.path): tensor 'nope': not in the file")
            }
        }
    }

    @Test func allDTypesHaveTheirByteSize() {
        let sizes = Dictionary(uniqueKeysWithValues: SafetensorsDType.allCases.map { ($0.rawValue, $0.byteSize) })
        #expect(sizes == ["BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2,
                          "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8])
    }

    /// A header the size of SD 1.5's full checkpoint (8,700 tensors, ~1 MB of JSON) must not
    /// slow down loading.
    @Test func parsesLargeHeaderQuickly() throws {
        var file = SafetensorsTestFile()
        for index in 0 ..< 8_700 {
            let block = "model.diffusion_model.output_blocks.\(index / 100).\(index % 100)"
            let name = block + ".transformer_blocks.0.attn1.to_q.weight"
            file.add(name, .f16, shape: [1, 1, 1, 1], bytes: [0, 0])
        }
        let bytes = file.bytes
        #expect(bytes.count > 1_000_000)
        // Best of three, so that tests running alongside do not make this flaky.
        let clock = ContinuousClock()
        var fastest = Duration.seconds(1_000)
        for _ in 0 ..< 3 {
            let start = clock.now
            let st = try bytes.withUnsafeBytes { try SafetensorsFile(bytes: $0, name: "big-header.safetensors") }
            fastest = min(fastest, clock.now - start)
            #expect(st.tensorNames.count == 8_700)
        }
        print("safetensors: opened a file with a \(bytes.count)-byte header and 8,700 tensors in \(fastest)")
        #if !DEBUG
        #expect(fastest < .milliseconds(100))
        #endif
    }

    /// The message format the rest of the code base relies on.
    @Test func errorDescriptionNamesFileTensorAndNumbers() throws {
        let header = headerWithEntry(#"{"dtype":"F16","shape":[49408,768],"data_offsets":[0,75890680]}"#)
            .replacingOccurrences(of: "\"x\"", with: "\"text_model.embeddings.token_embedding.weight\"")
        let error = #expect(throws: SafetensorsError.self) {
            _ = try safetensorsBytes(header: header).withUnsafeBytes {
                try SafetensorsFile(bytes: $0, name: "model.safetensors")
            }
        }
        #expect(error?.description == "model.safetensors: tensor 'text_model.embeddings.token_embedding.weight': "
            + "shape [49408, 768] × F16 needs 75890688 bytes but data_offsets span 75890680")
    }

    // MARK: Broken files

    @Test func emptyFile() throws {
        try expectOpenFailure([], tensor: nil, reason: "file is 0 bytes")
    }

    @Test func sevenByteFile() throws {
        try expectOpenFailure([1, 0, 0, 0, 0, 0, 0], tensor: nil, reason: "file is 7 bytes")
    }

    @Test func headerLengthZero() throws {
        try expectOpenFailure(safetensorsBytes(header: "{}", headerLength: 0), tensor: nil,
                              reason: "header length is 0")
    }

    @Test(arguments: [UInt64.max, UInt64.max - 7, 1 << 63, UInt64(Int.max), 11])
    func headerLengthPastTheEnd(length: UInt64) throws {
        try expectOpenFailure(safetensorsBytes(header: "{}", headerLength: length), tensor: nil,
                              reason: "header length \(length) runs past the end of the file (2 bytes follow")
    }

    /// A sparse file, so the test costs no disk space.
    @Test func headerLengthOverTheLimit() throws {
        try withSafetensorsTestDirectory { directory throws in
            let url = directory.appendingPathComponent("huge.safetensors")
            let length = UInt64(SafetensorsFile.maxHeaderLength + 1)
            try Data(littleEndianBytes([length])).write(to: url)
            let handle = try FileHandle(forWritingTo: url)
            try handle.truncate(atOffset: length + 8)
            try handle.close()
            let error = #expect(throws: SafetensorsError.self) { _ = try SafetensorsFile(url: url) }
            #expect(error?.file == url.path)
            #expect(error?.reason == "header length 100000001 exceeds the 100000000-byte limit")
        }
    }

    @Test func missingFileAndDirectory() throws {
        try withSafetensorsTestDirectory { directory throws in
            let missing = directory.appendingPathComponent("missing.safetensors")
            let error = #expect(throws: SafetensorsError.self) { _ = try SafetensorsFile(url: missing) }
            #expect(error?.file == missing.path)
            #expect(error?.reason.hasPrefix("cannot open: ") == true)

            let notFile = #expect(throws: SafetensorsError.self) { _ = try SafetensorsFile(url: directory) }
            #expect(notFile?.reason == "not a regular file")
        }
    }

    @Test func garbageBytes() throws {
        var random = SplitMix64(seed: 7)
        let garbage = (0 ..< 4096).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
        try expectOpenFailure(garbage, tensor: nil, reason: "runs past the end of the file")
        // A plausible length followed by garbage.
        try expectOpenFailure(littleEndianBytes([UInt64(100)]) + garbage, tensor: nil,
                              reason: "the header must be a JSON object")
    }

    @Test func truncatedDataSection() throws {
        var file = SafetensorsTestFile()
        file.add("a", .f32, shape: [4], bytes: [UInt8](repeating: 1, count: 16))
        file.add("b", .f16, shape: [3, 2], bytes: [UInt8](repeating: 2, count: 12))
        try expectOpenFailure(Array(file.bytes.dropLast(5)), tensor: "b",
                              reason: "data_offsets [16, 28] run past the end of the data section "
                                  + "(23 bytes after the header)")
    }

    @Test func rangeBeyondTheEnd() throws {
        try expectOpenFailure(
            safetensorsBytes(header: headerWithEntry(#"{"dtype":"F32","shape":[2],"data_offsets":[4,12]}"#),
                             data: eightBytes),
            tensor: "x", reason: "data_offsets [4, 12] run past the end of the data section (8 bytes after the header)")
    }

    @Test func overlappingRanges() throws {
        let header = #"{"first":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"# +
            #""second":{"dtype":"F16","shape":[2],"data_offsets":[6,10]}}"#
        try expectOpenFailure(safetensorsBytes(header: header, data: eightBytes + [0, 0]), tensor: "second",
                              reason: "data_offsets [6, 10] overlap those of 'first' [0, 8]")
    }

    @Test func shapeAndSizeMismatch() throws {
        try expectOpenFailure(
            safetensorsBytes(header: headerWithEntry(#"{"dtype":"F16","shape":[2,3],"data_offsets":[0,10]}"#),
                             data: eightBytes + [0, 0]),
            tensor: "x", reason: "shape [2, 3] × F16 needs 12 bytes but data_offsets span 10")
    }

    @Test func unknownDType() throws {
        try expectOpenFailure(
            safetensorsBytes(header: headerWithEntry(#"{"dtype":"F17","shape":[2],"data_offsets":[0,8]}"#),
                             data: eightBytes),
            tensor: "x", reason: "unknown dtype \"F17\"")
    }

    @Test func negativeShape() throws {
        try expectOpenFailure(
            safetensorsBytes(header: headerWithEntry(#"{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}"#),
                             data: eightBytes),
            tensor: "x", reason: "\"shape\" must hold non-negative integers, found -2")
    }

    /// Headers that are not JSON, with the tensor being read when the parser stopped.
    @Test(arguments: [
        ("[]", nil, "the header must be a JSON object, found an array"),
        ("{\"x\" {}}", nil, "expected ':' after a key, found '{'"),
        ("{\"x\":{\"extra\": }}", "x", "expected a value, found '}'"),
        ("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],}}", "x", "expected a quoted key, found '}'"),
        ("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} {}", nil,
         "expected only spaces after the header's closing '}', found '{'"),
        ("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,],\"data_offsets\":[0,8]}}", "x", "non-negative integers, found ']'"),
        ("{\"x\":{\"dtype\":\"F32", "x", "unterminated string"),
        ("{\"x\":{\"dtype\":\"F32\"", "x", "expected ',' or '}', found the end of the header"),
        ("{\"x\":{\"dtype\":\"F\\q32\"}}", "x", "invalid escape in a string"),
        ("{\"x\":{\"dtype\":\"F32\\ud800\"}}", "x", "lone UTF-16 high surrogate"),
        ("{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0],\"extra\":tru}}", "x", "expected 'true'"),
        ("{\"x\":{\"extra\":" + String(repeating: "[", count: 100), "x", "nested deeper than 64 levels"),
    ] as [(String, String?, String)])
    func invalidJSON(header: String, tensor: String?, reason: String) throws {
        try expectOpenFailure(safetensorsBytes(header: header, data: eightBytes), tensor: tensor, reason: reason)
    }

    @Test func invalidUTF8InHeader() throws {
        let header = Array(#"{"x"#.utf8) + [0xC3, 0x28] + Array(#"":{}}"#.utf8)
        try expectOpenFailure(safetensorsBytes(header: header), tensor: nil,
                              reason: "string at file byte 9 is not valid UTF-8")
        let outsideString = Array("{\u{FF}}".utf8)
        try expectOpenFailure(safetensorsBytes(header: outsideString), tensor: nil, reason: "found byte 0xC3")
    }

    /// Entries of the wrong shape, each naming tensor `x`.
    @Test(arguments: [
        ("[1, 2]", "entry must be an object, found an array"),
        (#"{"shape":[2],"data_offsets":[0,8]}"#, "missing \"dtype\""),
        (#"{"dtype":"F32","data_offsets":[0,8]}"#, "missing \"shape\""),
        (#"{"dtype":"F32","shape":[2]}"#, "missing \"data_offsets\""),
        (#"{"dtype":32,"shape":[2],"data_offsets":[0,8]}"#, "\"dtype\" must be a string, found a number"),
        (#"{"dtype":"F32","shape":"2","data_offsets":[0,8]}"#,
         "\"shape\" must be an array of integers, found a string"),
        (#"{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}"#, "found 2.0"),
        (#"{"dtype":"F32","shape":[2e0],"data_offsets":[0,8]}"#, "found 2e0"),
        (#"{"dtype":"F32","shape":[null],"data_offsets":[0,8]}"#, "found null"),
        (#"{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551624]}"#,
         "value 18446744073709551624 is too large"),
        (#"{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}"#, "data_offsets must be [begin, end], found 3 numbers"),
        (#"{"dtype":"F32","shape":[2],"data_offsets":[8,0]}"#, "data_offsets [8, 0] end before they begin"),
        (#"{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}"#, "found -8"),
        (#"{"dtype":"F32","shape":[2],"dtype":"F32","data_offsets":[0,8]}"#, "has \"dtype\" twice"),
        (#"{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}"#, "more elements than Int can count"),
        (#"{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}"#, "needs more bytes than Int can count"),
    ])
    func invalidEntry(entry: String, reason: String) throws {
        try expectOpenFailure(safetensorsBytes(header: headerWithEntry(entry), data: eightBytes), tensor: "x",
                              reason: reason)
    }

    @Test func duplicateTensorName() throws {
        // Equal once decoded, so which one a reader keeps would otherwise be arbitrary.
        let entry = #"{"dtype":"U8","shape":[0],"data_offsets":[0,0]}"#
        try expectOpenFailure(safetensorsBytes(header: "{\"café\":\(entry),\"caf\\u00e9\":\(entry)}"),
                              tensor: "café", reason: "appears twice")
    }

    @Test(arguments: [
        (#"{"__metadata__":{"format":1}}"#, "\"__metadata__\" value for \"format\" must be a string, found a number"),
        (#"{"__metadata__":["pt"]}"#, "\"__metadata__\" must be an object of strings, found an array"),
        (#"{"__metadata__":{"a":"1","a":"2"}}"#, "\"__metadata__\" has \"a\" twice"),
        (#"{"__metadata__":{},"__metadata__":{}}"#, "\"__metadata__\" appears twice"),
    ])
    func invalidMetadata(header: String, reason: String) throws {
        try expectOpenFailure(safetensorsBytes(header: header), tensor: nil, reason: reason)
    }
}
