enum TIFFError: Error, Equatable, CustomStringConvertible {
    case notTIFF(firstBytes: [UInt8])
    case outOfBounds(what: String, offset: Int, length: Int, fileSize: Int)
    case missingTag(String)
    /// A tag this decoder reads holds a type other than BYTE, SHORT or LONG.
    case fieldType(tag: String, type: Int)
    case unsupported(tag: String, values: [Int], supported: String)
    case stripCount(offsets: Int, byteCounts: Int, expected: Int)
    case stripByteCount(strip: Int, declared: Int, expected: Int)

    var description: String {
        switch self {
        case let .notTIFF(firstBytes):
            "not a TIFF: it starts \(firstBytes), not II*\\0 or MM\\0*"
        case let .outOfBounds(what, offset, length, fileSize):
            "\(what) at offset \(offset), \(length) bytes long, runs past the end of the \(fileSize)-byte file"
        case let .missingTag(tag):
            "the TIFF has no \(tag) tag"
        case let .fieldType(tag, type):
            "the TIFF's \(tag) has field type \(type); expected BYTE (1), SHORT (3) or LONG (4)"
        case let .unsupported(tag, values, supported):
            "the TIFF's \(tag) is \(values); this decoder reads \(supported)"
        case let .stripCount(offsets, byteCounts, expected):
            "the TIFF has \(offsets) strip offsets and \(byteCounts) strip byte counts; its size and RowsPerStrip need \(expected)"
        case let .stripByteCount(strip, declared, expected):
            "TIFF strip \(strip) declares \(declared) bytes; its rows need \(expected)"
        }
    }
}

/// Baseline TIFF 6.0, only as much as terminal graphics need: the first image of a little- or
/// big-endian file, uncompressed, chunky 8-bit RGB or RGBA, in strips. Anything else is an error,
/// never a guess.
enum TIFFDecoder {
    private enum Tag: Int {
        case imageWidth = 256, imageLength = 257, bitsPerSample = 258, compression = 259
        case photometricInterpretation = 262, stripOffsets = 273, orientation = 274
        case samplesPerPixel = 277, rowsPerStrip = 278, stripByteCounts = 279
        case planarConfiguration = 284, extraSamples = 338, sampleFormat = 339
    }

    /// Returns straight (unassociated) alpha: associated alpha (ExtraSamples = 1, what libchafa
    /// writes) is divided out, so a decoded TIFF compares directly with a source picture.
    static func decode(_ file: [UInt8]) throws -> DecodedImage {
        var reader: TIFFReader
        switch file.prefix(4) {
        case [0x49, 0x49, 0x2A, 0x00]: reader = TIFFReader(file: file, littleEndian: true)
        case [0x4D, 0x4D, 0x00, 0x2A]: reader = TIFFReader(file: file, littleEndian: false)
        default: throw TIFFError.notTIFF(firstBytes: Array(file.prefix(4)))
        }
        let fields = try reader.fields(ofDirectoryAt: try reader.unsigned32(at: 4, what: "the first IFD offset"))

        func values(_ tag: Tag, default fallback: [Int]? = nil) throws -> [Int] {
            guard let field = fields[tag.rawValue] else {
                if let fallback { return fallback }
                throw TIFFError.missingTag("\(tag)")
            }
            guard let values = field else { throw TIFFError.fieldType(tag: "\(tag)", type: reader.typeOf[tag.rawValue] ?? 0) }
            return values
        }
        func single(_ tag: Tag, default fallback: Int? = nil) throws -> Int {
            let all = try values(tag, default: fallback.map { [$0] })
            guard all.count == 1 else { throw TIFFError.unsupported(tag: "\(tag)", values: all, supported: "one value") }
            return all[0]
        }
        func require(_ tag: Tag, _ values: [Int], in allowed: Set<Int>, _ supported: String) throws {
            guard values.allSatisfy(allowed.contains) else {
                throw TIFFError.unsupported(tag: "\(tag)", values: values, supported: supported)
            }
        }

        let width = try single(.imageWidth)
        let height = try single(.imageLength)
        let samplesPerPixel = try single(.samplesPerPixel, default: 1)
        try require(.samplesPerPixel, [samplesPerPixel], in: [3, 4], "3 (RGB) or 4 (RGBA)")
        let bitsPerSample = try values(.bitsPerSample, default: [1])
        try require(.bitsPerSample, bitsPerSample, in: [8], "8 bits per sample")
        guard bitsPerSample.count == 1 || bitsPerSample.count == samplesPerPixel else {
            throw TIFFError.unsupported(tag: "\(Tag.bitsPerSample)", values: bitsPerSample,
                                        supported: "one value per sample (\(samplesPerPixel))")
        }
        try require(.compression, [try single(.compression, default: 1)], in: [1], "1 (uncompressed) only")
        try require(.photometricInterpretation, [try single(.photometricInterpretation)], in: [2], "2 (RGB) only")
        try require(.planarConfiguration, [try single(.planarConfiguration, default: 1)], in: [1], "1 (chunky) only")
        try require(.orientation, [try single(.orientation, default: 1)], in: [1], "1 (top left) only")
        try require(.sampleFormat, try values(.sampleFormat, default: [1]), in: [1], "1 (unsigned integers) only")
        // 0 unspecified, 1 associated (premultiplied) alpha, 2 unassociated alpha.
        let extraSamples = try values(.extraSamples, default: samplesPerPixel == 4 ? [0] : [])
        guard extraSamples.count == samplesPerPixel - 3 else {
            throw TIFFError.unsupported(tag: "\(Tag.extraSamples)", values: extraSamples,
                                        supported: "one extra sample for RGBA, none for RGB")
        }
        try require(.extraSamples, extraSamples, in: [0, 1, 2], "0, 1 or 2")
        let alphaIsAssociated = extraSamples == [1]

        let rowsPerStrip = min(try single(.rowsPerStrip, default: Int(UInt32.max)), max(height, 1))
        let stripOffsets = try values(.stripOffsets)
        let stripByteCounts = try values(.stripByteCounts)
        let stripCount = (height + rowsPerStrip - 1) / rowsPerStrip
        guard stripOffsets.count == stripCount && stripByteCounts.count == stripCount else {
            throw TIFFError.stripCount(offsets: stripOffsets.count, byteCounts: stripByteCounts.count, expected: stripCount)
        }

        // (height, width, samplesPerPixel), strips laid end to end.
        var samples: [UInt8] = []
        samples.reserveCapacity(width * height * samplesPerPixel)
        for strip in 0..<stripCount {
            let rows = min(rowsPerStrip, height - strip * rowsPerStrip)
            let expected = rows * width * samplesPerPixel
            guard stripByteCounts[strip] == expected else {
                throw TIFFError.stripByteCount(strip: strip, declared: stripByteCounts[strip], expected: expected)
            }
            samples += try reader.bytes(at: stripOffsets[strip], count: expected, what: "strip \(strip)")
        }

        guard samplesPerPixel == 4 else { return DecodedImage(width: width, height: height, rgb: samples) }
        if alphaIsAssociated {
            for pixel in stride(from: 0, to: samples.count, by: 4) {
                let alpha = Int(samples[pixel + 3])
                for channel in pixel..<pixel + 3 {
                    samples[channel] = alpha == 0 ? 0 : UInt8(min(255, (Int(samples[channel]) * 255 + alpha / 2) / alpha))
                }
            }
        }
        return DecodedImage(width: width, height: height, rgba: samples)
    }
}

/// Bounds-checked reads in the file's byte order.
private struct TIFFReader {
    let file: [UInt8]
    let littleEndian: Bool
    /// Field type of each tag read by `fields`, for error messages.
    var typeOf: [Int: Int] = [:]

    init(file: [UInt8], littleEndian: Bool) {
        self.file = file
        self.littleEndian = littleEndian
    }

    func bytes(at offset: Int, count: Int, what: String) throws -> ArraySlice<UInt8> {
        guard offset >= 0, count >= 0, offset <= file.count - count else {
            throw TIFFError.outOfBounds(what: what, offset: offset, length: count, fileSize: file.count)
        }
        return file[offset..<offset + count]
    }

    func unsigned(at offset: Int, size: Int, what: String) throws -> Int {
        let field = try bytes(at: offset, count: size, what: what)
        let ordered = littleEndian ? Array(field.reversed()) : Array(field)
        return ordered.reduce(0) { $0 << 8 | Int($1) }
    }

    func unsigned32(at offset: Int, what: String) throws -> Int { try unsigned(at: offset, size: 4, what: what) }

    /// Tag → its values as integers, or nil for a field type other than BYTE, SHORT or LONG.
    mutating func fields(ofDirectoryAt directory: Int) throws -> [Int: [Int]?] {
        let entryCount = try unsigned(at: directory, size: 2, what: "the IFD entry count")
        var fields: [Int: [Int]?] = [:]
        for entry in 0..<entryCount {
            let at = directory + 2 + entry * 12
            let tag = try unsigned(at: at, size: 2, what: "IFD entry \(entry)")
            let type = try unsigned(at: at + 2, size: 2, what: "IFD entry \(entry)")
            let count = try unsigned32(at: at + 4, what: "IFD entry \(entry)")
            typeOf[tag] = type
            let size: Int
            switch type {
            case 1: size = 1
            case 3: size = 2
            case 4: size = 4
            default:
                fields[tag] = .some(nil)
                continue
            }
            // Values that fit in four bytes sit in the entry itself, left-justified.
            let valuesAt = count * size <= 4 ? at + 8 : try unsigned32(at: at + 8, what: "IFD entry \(entry)'s value offset")
            _ = try bytes(at: valuesAt, count: count * size, what: "the values of tag \(tag)")
            fields[tag] = try (0..<count).map { try unsigned(at: valuesAt + $0 * size, size: size, what: "tag \(tag)") }
        }
        return fields
    }
}
