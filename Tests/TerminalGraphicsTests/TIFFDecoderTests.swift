import Testing

/// TIFFDecoder on files laid out by hand from the TIFF 6.0 specification: both byte orders, RGB and
/// RGBA, several strips, values stored in and out of their entries, and what it must refuse.
@Suite struct TIFFDecoderTests {
    /// 3×5 pixels whose channels count up, so a misplaced byte shows.
    static let rgb: [UInt8] = (0..<3 * 5 * 3).map { UInt8($0 * 5) }

    @Test(arguments: [true, false])
    func rgbInOneStrip(littleEndian: Bool) throws {
        let file = makeTIFF(width: 3, height: 5, samplesPerPixel: 3, samples: Self.rgb, littleEndian: littleEndian)
        #expect(try TIFFDecoder.decode(file) == DecodedImage(width: 3, height: 5, rgb: Self.rgb))
    }

    @Test(arguments: [true, false])
    func rgbaInStripsOfTwoRows(littleEndian: Bool) throws {
        let rgba: [UInt8] = (0..<3 * 5 * 4).map { UInt8(255 - $0) }
        // Three strips, the last one row; SHORT strip offsets to exercise the other field type.
        let file = makeTIFF(width: 3, height: 5, samplesPerPixel: 4, samples: rgba, littleEndian: littleEndian,
                            rowsPerStrip: 2, extraSamples: [2], stripOffsetType: 3)
        #expect(try TIFFDecoder.decode(file) == DecodedImage(width: 3, height: 5, rgba: rgba))
    }

    @Test func associatedAlphaIsDividedOut() throws {
        // (64, 32, 0) at alpha 128 is (128, 64, 0) unpremultiplied; alpha 0 stays (0, 0, 0, 0).
        let file = makeTIFF(width: 2, height: 1, samplesPerPixel: 4, samples: [64, 32, 0, 128, 0, 0, 0, 0],
                            extraSamples: [1])
        #expect(try TIFFDecoder.decode(file) == DecodedImage(width: 2, height: 1, rgba: [128, 64, 0, 128, 0, 0, 0, 0]))
    }

    @Test func whatBaselineRGBIsNotIsRefused() throws {
        func decoding(_ changes: [Int: (type: Int, values: [Int])], removing: Set<Int> = []) -> () throws -> Void {
            let file = makeTIFF(width: 3, height: 5, samplesPerPixel: 3, samples: Self.rgb, changing: changes, removing: removing)
            return { _ = try TIFFDecoder.decode(file) }
        }
        #expect(throws: TIFFError.unsupported(tag: "compression", values: [5], supported: "1 (uncompressed) only"),
                performing: decoding([259: (3, [5])]))
        #expect(throws: TIFFError.unsupported(tag: "planarConfiguration", values: [2], supported: "1 (chunky) only"),
                performing: decoding([284: (3, [2])]))
        #expect(throws: TIFFError.unsupported(tag: "bitsPerSample", values: [16, 16, 16], supported: "8 bits per sample"),
                performing: decoding([258: (3, [16, 16, 16])]))
        #expect(throws: TIFFError.unsupported(tag: "photometricInterpretation", values: [1], supported: "2 (RGB) only"),
                performing: decoding([262: (3, [1])]))
        #expect(throws: TIFFError.unsupported(tag: "samplesPerPixel", values: [1], supported: "3 (RGB) or 4 (RGBA)"),
                performing: decoding([:], removing: [277]))
        #expect(throws: TIFFError.missingTag("imageWidth"), performing: decoding([:], removing: [256]))
        #expect(throws: TIFFError.fieldType(tag: "imageWidth", type: 5), performing: decoding([256: (5, [3, 1])]))
        #expect(throws: TIFFError.stripByteCount(strip: 0, declared: 44, expected: 45), performing: decoding([279: (4, [44])]))
        #expect(throws: TIFFError.stripCount(offsets: 1, byteCounts: 1, expected: 3), performing: decoding([278: (4, [2])]))
        #expect(throws: TIFFError.outOfBounds(what: "strip 0", offset: 1000, length: 45, fileSize: 198),
                performing: decoding([273: (4, [1000])]))
    }

    @Test func notATIFFIsRefused() throws {
        #expect(throws: TIFFError.notTIFF(firstBytes: [0x89, 0x50, 0x4E, 0x47])) {
            try TIFFDecoder.decode([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A])
        }
        let truncated = Array(makeTIFF(width: 3, height: 5, samplesPerPixel: 3, samples: Self.rgb).prefix(60))
        // Header and strip fill 54 bytes; the cut falls inside the first IFD entry, at its count.
        #expect(throws: TIFFError.outOfBounds(what: "IFD entry 0", offset: 60, length: 4, fileSize: 60)) {
            try TIFFDecoder.decode(truncated)
        }
    }
}

/// A TIFF laid out as the specification describes: header, strips, the IFD with its entries in tag
/// order, then values too long to sit in their entries. `changing` replaces or adds entries
/// (tag: field type and values), `removing` drops them.
func makeTIFF(width: Int, height: Int, samplesPerPixel: Int, samples: [UInt8], littleEndian: Bool = true,
              rowsPerStrip: Int? = nil, extraSamples: [Int]? = nil, stripOffsetType: Int = 4,
              changing changes: [Int: (type: Int, values: [Int])] = [:], removing: Set<Int> = []) -> [UInt8] {
    func encoded(_ value: Int, size: Int) -> [UInt8] {
        let bigEndian = (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * (size - 1 - $0))) }
        return littleEndian ? bigEndian.reversed() : bigEndian
    }
    let rows = rowsPerStrip ?? height
    let rowBytes = width * samplesPerPixel
    var file: [UInt8] = littleEndian ? [0x49, 0x49, 0x2A, 0x00] : [0x4D, 0x4D, 0x00, 0x2A]
    file += [0, 0, 0, 0]  // the IFD offset, written below
    var stripOffsets: [Int] = []
    var stripByteCounts: [Int] = []
    for firstRow in stride(from: 0, to: height, by: rows) {
        stripOffsets.append(file.count)
        let strip = samples[firstRow * rowBytes..<min(firstRow + rows, height) * rowBytes]
        stripByteCounts.append(strip.count)
        file += strip
    }
    if file.count % 2 == 1 { file.append(0) }  // an IFD starts on a word boundary

    var entries: [Int: (type: Int, values: [Int])] = [
        256: (4, [width]), 257: (4, [height]), 258: (3, Array(repeating: 8, count: samplesPerPixel)),
        259: (3, [1]), 262: (3, [2]), 273: (stripOffsetType, stripOffsets), 274: (3, [1]),
        277: (3, [samplesPerPixel]), 278: (4, [rows]), 279: (4, stripByteCounts), 284: (3, [1]),
    ]
    if let extraSamples { entries[338] = (3, extraSamples) }
    entries.merge(changes) { $1 }
    for tag in removing { entries[tag] = nil }

    let directory = file.count
    file.replaceSubrange(4..<8, with: encoded(directory, size: 4))
    var overflow: [UInt8] = []
    let overflowStart = directory + 2 + entries.count * 12 + 4
    file += encoded(entries.count, size: 2)
    for (tag, entry) in entries.sorted(by: { $0.key < $1.key }) {
        let size = [1: 1, 3: 2, 4: 4, 5: 8][entry.type]!
        // RATIONAL values are given as numerator, denominator pairs.
        let values = entry.type == 5 ? entry.values.map { encoded($0, size: 4) }.joined().map { $0 }
            : entry.values.flatMap { encoded($0, size: size) }
        let count = entry.type == 5 ? entry.values.count / 2 : entry.values.count
        file += encoded(tag, size: 2) + encoded(entry.type, size: 2) + encoded(count, size: 4)
        if values.count <= 4 {
            file += values + Array(repeating: 0, count: 4 - values.count)
        } else {
            file += encoded(overflowStart + overflow.count, size: 4)
            overflow += values
        }
    }
    file += [0, 0, 0, 0]  // no next IFD
    return file + overflow
}
