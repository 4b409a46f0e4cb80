import Foundation
import Kernels
@testable import Models
import Testing

extension SplitMix64 {
    mutating func below(_ bound: Int) -> Int { Int.random(in: 0 ..< bound, using: &self) }
}

/// Mutates valid files in ways real corruption and hostile writers produce, and checks that every
/// result either opens into a file whose every promise holds or is refused with a
/// `SafetensorsError` naming it; never a crash, a trap or a read outside the file.
@Suite struct SafetensorsFuzzTests {
    static let baseFileCount = 6
    static let casesPerBase = 20_000

    @Test func mutatedFilesOpenSoundlyOrThrow() throws {
        var random = SplitMix64(seed: 0x5AFE_7E45_0125)
        let bases = (0 ..< Self.baseFileCount).map { _ in Self.randomValidFile(&random) }
        for (index, base) in bases.enumerated() {
            // Mutations only mean something if the starting points are valid.
            let file = try base.withUnsafeBytes { try SafetensorsFile(bytes: $0, name: "base-\(index)") }
            try Self.checkPromises(of: file, bytes: base, name: "base-\(index)")
        }

        var opened = 0
        var rejected = 0
        let clock = ContinuousClock()
        let start = clock.now
        for (baseIndex, base) in bases.enumerated() {
            for caseIndex in 0 ..< Self.casesPerBase {
                var bytes = base
                for _ in 0 ... random.below(3) { Self.mutate(&bytes, &random) }
                let name = "fuzz-\(baseIndex)-\(caseIndex).safetensors"
                do {
                    let file = try bytes.withUnsafeBytes { try SafetensorsFile(bytes: $0, name: name) }
                    try Self.checkPromises(of: file, bytes: bytes, name: name)
                    opened += 1
                } catch let error as SafetensorsError {
                    #expect(error.file == name && error.description.hasPrefix(name + ": "), "\(error)")
                    rejected += 1
                }
            }
        }
        let elapsed = clock.now - start
        print("safetensors fuzz: \(opened + rejected) cases, \(opened) opened, \(rejected) rejected, in \(elapsed)")
        #expect(opened + rejected == Self.baseFileCount * Self.casesPerBase)
        // Both outcomes must be common (at least 2% of cases each), or the mutations are too weak
        // or too destructive to test much. This seed opens about 6%.
        let minimum = Self.baseFileCount * Self.casesPerBase / 50
        #expect(opened >= minimum && rejected >= minimum)
    }

    /// What an opened file promises: every tensor's bytes lie inside the data section, match its
    /// shape and dtype, overlap no other tensor's, and read back as stored; float tensors convert
    /// and others refuse with an error naming them.
    static func checkPromises(of file: SafetensorsFile, bytes: [UInt8], name: String) throws {
        let headerLength = bytes.withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self)) }
        let dataStart = 8 + headerLength
        var ranges: [Range<Int>] = []
        for tensorName in file.tensorNames {
            let info = try #require(file.info(tensorName), "\(name)")
            let (size, overflow) = info.elementCount.multipliedReportingOverflow(by: info.dtype.byteSize)
            #expect(!overflow && size == info.byteRange.count, "\(name): \(tensorName)")
            #expect(info.byteRange.lowerBound >= 0 && dataStart + info.byteRange.upperBound <= bytes.count, "\(name)")
            let raw = try file.rawBytes(tensorName)
            let stored = bytes[dataStart + info.byteRange.lowerBound ..< dataStart + info.byteRange.upperBound]
            #expect(raw.elementsEqual(stored), "\(name): \(tensorName)")
            switch info.dtype {
            case .f32, .f16, .bf16, .f64:
                // Random bytes include NaN and infinity patterns: such a tensor is refused, naming it.
                do {
                    let tensor = try file.tensor(tensorName)
                    #expect(tensor.shape == info.shape && tensor.count == info.elementCount, "\(name): \(tensorName)")
                    #expect(tensor.isFinite, "\(name): \(tensorName)")
                } catch let error as SafetensorsError where error.reason.contains("NaN or infinite") {
                    #expect(error.tensor == tensorName && error.file == name, "\(name)")
                }
            default:
                let error = #expect(throws: SafetensorsError.self, "\(name)") { try file.tensor(tensorName) }
                #expect(error?.tensor == tensorName && error?.file == name, "\(name)")
            }
            if !info.byteRange.isEmpty { ranges.append(info.byteRange) }
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound }, "\(name)")
    }

    // MARK: Starting points

    /// 2–6 tensors of mixed dtypes (half of them convertible to fp32), ranks 0–3 with some empty,
    /// unaligned gaps, names that need escaping, metadata and header padding.
    static func randomValidFile(_ random: inout SplitMix64) -> [UInt8] {
        let floatTypes: [SafetensorsDType] = [.f32, .f16, .bf16, .f64]
        let suffixes = ["weight", "bias", "é", "q\"k", "tab\there"]
        var file = SafetensorsTestFile()
        for index in 0 ..< 2 + random.below(5) {
            let dtype = random.below(2) == 0 ? floatTypes.randomElement(using: &random)!
                                             : SafetensorsDType.allCases.randomElement(using: &random)!
            let shape = (0 ..< random.below(4)).map { _ in random.below(5) }
            let byteCount = shape.reduce(1, *) * dtype.byteSize
            let bytes = (0 ..< byteCount).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
            file.add("layer.\(index).\(suffixes.randomElement(using: &random)!)", dtype, shape: shape, bytes: bytes,
                     gap: random.below(4))
        }
        file.metadata = (0 ..< random.below(4)).map { ("key\($0)", "value \($0) ü") }
        file.padding = random.below(8)
        return file.bytes
    }

    // MARK: Mutations

    /// Fragments to splice into headers: JSON syntax, edge-case numbers, field names and dtypes,
    /// broken escapes and bytes that are not UTF-8.
    static let tokens: [[UInt8]] = [
        "0", "1", "-1", "-0", "01", "1.5", "1e3", "4294967296", "9007199254740993", "9223372036854775807",
        "9223372036854775808", "18446744073709551616", "\"", "\\", "\\u", "\\ud800", "\\udc00", "\\u00e9", "{", "}",
        "[", "]", ",", ":", " ", "null", "true", "false", "\"\"", "\"F17\"", "\"I64\"", "\"BF16\"", "\"F8_E4M3\"",
        "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "[]", "{}", "[0,0]", "[1]",
    ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0x00], [0x1F]]

    /// Applies one random mutation. Header-aware mutations keep the length prefix in step with the
    /// JSON most of the time, so the parser gets past the length checks and into the JSON.
    static func mutate(_ bytes: inout [UInt8], _ random: inout SplitMix64) {
        guard let header = headerRange(bytes) else {
            // Too short for JSON: grow it with random bytes.
            bytes += (0 ..< random.below(16)).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
            return
        }
        switch random.below(11) {
        case 0:  // flip one bit anywhere
            bytes[random.below(bytes.count)] ^= 1 << random.below(8)
        case 1:  // overwrite one byte anywhere
            bytes[random.below(bytes.count)] = UInt8.random(in: 0 ... 255, using: &random)
        case 2:  // a boundary or random header length
            let length = UInt64(header.count)
            let size = UInt64(bytes.count)
            let choices: [UInt64] = [0, 1, 7, 8, length - 1, length + 1, size - 8, size - 7, size, .max, .max - 7,
                                     1 << 63, UInt64(Int.max), UInt64(UInt32.max),
                                     UInt64(SafetensorsFile.maxHeaderLength) + 1, random.next(),
                                     UInt64(random.below(2048))]
            setHeaderLength(&bytes, choices.randomElement(using: &random)!)
        case 3:  // truncate
            bytes.removeLast(random.below(bytes.count + 1))
        case 4:  // insert random bytes anywhere
            let insert = (0 ..< 1 + random.below(8)).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
            bytes.insert(contentsOf: insert, at: random.below(bytes.count + 1))
        case 5:  // delete a run of bytes anywhere
            let start = random.below(bytes.count)
            bytes.removeSubrange(start ..< min(bytes.count, start + 1 + random.below(16)))
        case 6:  // insert a token into the header
            editHeader(&bytes, header, replacing: randomSubrange(of: header, maxLength: 0, &random),
                       with: tokens.randomElement(using: &random)!, &random)
        case 7:  // replace a short span of the header with a token
            editHeader(&bytes, header, replacing: randomSubrange(of: header, maxLength: 6, &random),
                       with: tokens.randomElement(using: &random)!, &random)
        case 8:  // copy one quoted string over another: duplicate names and fields, swapped dtypes
            let strings = quotedStrings(in: bytes, header)
            guard let source = strings.randomElement(using: &random),
                  let target = strings.randomElement(using: &random) else { return }
            editHeader(&bytes, header, replacing: target, with: Array(bytes[source]), &random)
        case 9:  // replace a number in the header with an edge case
            let numbers = digitRuns(in: bytes, header)
            guard let target = numbers.randomElement(using: &random) else { return }
            let edgeCases = [0, 1, 2, 3, 8, 255, 65536, bytes.count - header.upperBound, bytes.count,
                             1 << 53, Int.max, Int(random.below(64))].map(String.init)
                + ["18446744073709551615", "18446744073709551616"]
            editHeader(&bytes, header, replacing: target, with: Array(edgeCases.randomElement(using: &random)!.utf8),
                       &random)
        default:  // duplicate a span of the header elsewhere in it: repeated entries and keys
            let span = randomSubrange(of: header, maxLength: 80, &random)
            editHeader(&bytes, header, replacing: randomSubrange(of: header, maxLength: 0, &random),
                       with: Array(bytes[span]), &random)
        }
    }

    /// The JSON as the length prefix claims it, cut to the file; nil when there is none to aim at.
    static func headerRange(_ bytes: [UInt8]) -> Range<Int>? {
        guard bytes.count > 8 else { return nil }
        let claimed = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let length = Int(min(claimed, UInt64(bytes.count - 8)))
        return length > 0 ? 8 ..< 8 + length : nil
    }

    static func setHeaderLength(_ bytes: inout [UInt8], _ length: UInt64) {
        bytes.replaceSubrange(0 ..< 8, with: littleEndianBytes([length]))
    }

    /// Replaces `target` (inside `header`) with `replacement`, and in 9 cases of 10 moves the
    /// length prefix by the change in size so the header still ends where the data begins.
    static func editHeader(_ bytes: inout [UInt8], _ header: Range<Int>, replacing target: Range<Int>,
                           with replacement: [UInt8], _ random: inout SplitMix64) {
        bytes.replaceSubrange(target, with: replacement)
        if random.below(10) > 0 {
            setHeaderLength(&bytes, UInt64(header.count - target.count + replacement.count))
        }
    }

    /// A random range of at most `maxLength` bytes inside `range` (empty when `maxLength` is 0).
    static func randomSubrange(of range: Range<Int>, maxLength: Int, _ random: inout SplitMix64) -> Range<Int> {
        let start = range.lowerBound + random.below(range.count + 1)
        return start ..< min(range.upperBound, start + random.below(maxLength + 1))
    }

    /// Spans from one '"' to the next within the header: mostly the file's strings, quotes included.
    static func quotedStrings(in bytes: [UInt8], _ header: Range<Int>) -> [Range<Int>] {
        let quotes = header.filter { bytes[$0] == UInt8(ascii: "\"") }
        return stride(from: 0, to: quotes.count - 1, by: 2).map { quotes[$0] ..< quotes[$0 + 1] + 1 }
    }

    /// Maximal runs of ASCII digits within the header.
    static func digitRuns(in bytes: [UInt8], _ header: Range<Int>) -> [Range<Int>] {
        var runs: [Range<Int>] = []
        var start: Int?
        for index in header.lowerBound ... header.upperBound {
            let isDigit = index < header.upperBound && (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[index])
            if isDigit, start == nil { start = index }
            if !isDigit, let begin = start {
                runs.append(begin ..< index)
                start = nil
            }
        }
        return runs
    }
}
