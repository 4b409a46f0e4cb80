import Foundation
import Testing

/// KittyGraphicsDecoder against libchafa 1.12's own kitty output and against hand-written commands.
@Suite struct KittyGraphicsDecoderTests {
    @Test func chafaSampleDecodesToWhatChafaSent() throws {
        let commands = try KittyGraphicsDecoder.commands(in: try ChafaSamples.bytes("kitty.escapes"))
        try #require(commands.count == 1)
        let command = commands[0]
        #expect(command.keyOrder == ["a", "f", "s", "v", "c", "r", "m"])
        #expect(command.keys == ["a": "T", "f": "32", "s": "32", "v": "24", "c": "4", "r": "2", "m": "1"])
        // chafa sends the keys alone, then 512 bytes (684 base64 characters, padded) per chunk,
        // then an empty m=0 chunk to end the transmission.
        #expect(command.chunkPayloadSizes == [0, 684, 684, 684, 684, 684, 684, 0])
        let image = try #require(command.image)
        #expect(image == Self.chafaKittyPixels(of: try ChafaSamples.source()))
    }

    @Test func chafaSampleHoldsNothingButGraphicsCommands() throws {
        let sequences = try TerminalStream.split(try ChafaSamples.bytes("kitty.escapes"))
        #expect(sequences.count == 8)
        #expect(sequences.allSatisfy { $0.kind == .applicationProgramCommand })
    }

    /// The source as libchafa 1.12.4 transmits it, two deliberate differences apart:
    /// - it scales into premultiplied RGBA, so a fully transparent pixel loses its colour (0, 0, 0, 0);
    /// - its base64 encoder (fixed in chafa 1.16) writes the last byte of a chunk whose length is 2
    ///   mod 3 as (byte & 0xF0) | (byte >> 2 & 0x03); every 512-byte chunk ends in an alpha byte, so
    ///   every 128th pixel arrives with alpha 243 instead of 255.
    static func chafaKittyPixels(of source: DecodedImage) -> DecodedImage {
        var expected = source
        for pixel in stride(from: 0, to: expected.rgba.count, by: 4) where expected.rgba[pixel + 3] == 0 {
            expected.rgba[pixel..<pixel + 3] = [0, 0, 0]
        }
        for chunkEnd in stride(from: 511, to: expected.rgba.count, by: 512) {
            let byte = expected.rgba[chunkEnd]
            expected.rgba[chunkEnd] = byte & 0xF0 | byte >> 2 & 0x03
        }
        return expected
    }

    @Test func chafaSampleDiffersFromItsSourceOnlyWhereChafaIsKnownToDiffer() throws {
        let source = try ChafaSamples.source()
        let decoded = try #require(try KittyGraphicsDecoder.commands(in: try ChafaSamples.bytes("kitty.escapes"))[0].image)
        let transparent = ChafaSamples.transparentRectangle
        var differingOpaqueBytes: [Int] = []
        for (index, (ours, theirs)) in zip(decoded.rgba, source.rgba).enumerated() where ours != theirs {
            let (x, y) = (index / 4 % source.width, index / 4 / source.width)
            if !(transparent.x.contains(x) && transparent.y.contains(y)) { differingOpaqueBytes.append(index) }
        }
        // The alpha byte of pixel 127, 255, …: (31, 3), (31, 7), … (31, 23).
        #expect(differingOpaqueBytes == [511, 1023, 1535, 2047, 2559, 3071])
        #expect(differingOpaqueBytes.allSatisfy { decoded.rgba[$0] == 243 })
    }

    @Test func commandsAmongOtherOutputKeepTheirKeysAndPixels() throws {
        let stream = Self.bytes("\u{1B}[2;5H\u{1B}7text")
            + Self.command("a=T,f=24,s=2,v=1,i=7,q=2,C=1", payload: [255, 0, 0, 0, 0, 255])
            + Self.bytes("\u{1B}[?25l\u{1B}_Xnot graphics\u{1B}\\")
            + Self.command("a=d,d=i,i=7")
        let commands = try KittyGraphicsDecoder.commands(in: stream)
        try #require(commands.count == 2)
        #expect(commands[0].keys == ["a": "T", "f": "24", "s": "2", "v": "1", "i": "7", "q": "2", "C": "1"])
        #expect(commands[0].image == DecodedImage(width: 2, height: 1, rgba: [255, 0, 0, 255, 0, 0, 255, 255]))
        #expect(commands[0].offset == 12)
        #expect(commands[1].action == "d")
        #expect(commands[1].keys == ["a": "d", "d": "i", "i": "7"])
        #expect(commands[1].integer("i") == 7)
        #expect(commands[1].payload.isEmpty && commands[1].image == nil)
    }

    /// A client that encodes the whole payload once and cuts it every 4 characters, as kitty's
    /// documentation shows, and one that pads each chunk, as chafa does, decode alike.
    @Test func bothWaysOfChunkingDecodeAlike() throws {
        let pixels: [UInt8] = (0..<2 * 3 * 4).map { UInt8($0 * 10) }
        let whole = Array(Data(pixels).base64EncodedString().utf8)
        var cutOnce: [UInt8] = Self.bytes("\u{1B}_Ga=t,f=32,s=2,v=3,m=1;") + whole[0..<12] + Self.bytes("\u{1B}\\")
        cutOnce += Self.bytes("\u{1B}[1C") // a cursor move between chunks is passed over
        cutOnce += Self.bytes("\u{1B}_Gm=1;") + whole[12..<24] + Self.bytes("\u{1B}\\")
        cutOnce += Self.bytes("\u{1B}_Gm=0;") + whole[24...] + Self.bytes("\u{1B}\\")
        let paddedEach = Self.command("a=t,f=32,s=2,v=3,m=1", payload: Array(pixels[0..<10]))
            + Self.command("m=1", payload: Array(pixels[10..<20])) + Self.command("m=0", payload: Array(pixels[20...]))
        let expected = DecodedImage(width: 2, height: 3, rgba: pixels)
        let first = try KittyGraphicsDecoder.commands(in: cutOnce)
        let second = try KittyGraphicsDecoder.commands(in: paddedEach)
        #expect(first.map { $0.image } == [expected] && second.map { $0.image } == [expected])
        #expect(first[0].chunkPayloadSizes == [12, 12, 8])
        #expect(second[0].chunkPayloadSizes == [16, 16, 8])
    }

    @Test func noFormatKeyMeans32BitRGBA() throws {
        let commands = try KittyGraphicsDecoder.commands(in: Self.command("s=1,v=1", payload: [1, 2, 3, 4]))
        #expect(commands.map { $0.image } == [DecodedImage(width: 1, height: 1, rgba: [1, 2, 3, 4])])
        #expect(commands[0].action == "t")
    }

    @Test func truncatedCommandIsAnError() throws {
        let whole = Self.command("a=T,f=24,s=1,v=1", payload: [1, 2, 3])
        #expect(throws: KittyGraphicsError.stream(.truncated(.applicationProgramCommand, offset: 0,
                                                                 bytesSeen: whole.count - 2))) {
            try KittyGraphicsDecoder.commands(in: Array(whole.dropLast(2)))
        }
    }

    @Test func unfinishedChunkedTransmissionIsAnError() throws {
        let stream = Self.command("a=T,f=24,s=1,v=1,m=1") + Self.command("m=1", payload: [1, 2, 3])
        #expect(throws: KittyGraphicsError.unfinishedTransmission(offset: 0, chunks: 2)) {
            try KittyGraphicsDecoder.commands(in: stream)
        }
    }

    @Test func badBase64IsAnErrorNamingTheChunk() throws {
        let stream = Self.command("a=T,f=24,s=1,v=1,m=1") + Self.bytes("\u{1B}_Gm=0;AQI*\u{1B}\\")
        let expected = KittyGraphicsError.badBase64(offset: 0, chunk: 1, .invalidCharacter(UInt8(ascii: "*"), offset: 3))
        #expect(throws: expected) { try KittyGraphicsDecoder.commands(in: stream) }
        #expect("\(expected)" == "chunk 1 of the kitty command at byte 0: byte 42 (*) at offset 3 is not base64")
    }

    @Test func payloadOfTheWrongSizeIsAnError() throws {
        let expected = KittyGraphicsError.payloadSize(offset: 0, width: 2, height: 2, bytesPerPixel: 4, actual: 12)
        #expect(throws: expected) {
            try KittyGraphicsDecoder.commands(in: Self.command("a=T,f=32,s=2,v=2", payload: Array(repeating: 9, count: 12)))
        }
        #expect("\(expected)" == "the kitty transmission at byte 0 declares 2×2×4 = 16 bytes but its payload decodes to 12")
    }

    @Test func otherMalformedCommandsAreErrors() throws {
        #expect(throws: KittyGraphicsError.missingKey(offset: 0, key: "v")) {
            try KittyGraphicsDecoder.commands(in: Self.command("a=T,s=1", payload: [1, 2, 3, 4]))
        }
        #expect(throws: KittyGraphicsError.malformedControlData(offset: 0, item: "x")) {
            try KittyGraphicsDecoder.commands(in: Self.command("a=T,x"))
        }
        #expect(throws: KittyGraphicsError.keysOnContinuationChunk(offset: 12, keys: ["s"])) {
            try KittyGraphicsDecoder.commands(in: Self.command("a=T,m=1") + Self.command("m=0,s=1"))
        }
        #expect(throws: KittyGraphicsError.compressedPayload(offset: 0, compression: "z")) {
            try KittyGraphicsDecoder.commands(in: Self.command("a=T,o=z,s=1,v=1", payload: [1, 2]))
        }
        #expect(throws: KittyGraphicsError.unsupportedFormat(offset: 0, format: "8")) {
            try KittyGraphicsDecoder.commands(in: Self.command("a=T,f=8,s=1,v=1", payload: [1]))
        }
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// ESC _ G control [; base64(payload)] ESC \, the payload encoded in one piece.
    static func command(_ control: String, payload: [UInt8]? = nil) -> [UInt8] {
        bytes("\u{1B}_G" + control + (payload.map { ";" + Data($0).base64EncodedString() } ?? "") + "\u{1B}\\")
    }
}
