import Testing

/// SixelDecoder against libchafa 1.12's own sixel output and against sixels worked out by hand.
@Suite struct SixelDecoderTests {
    @Test func chafaSampleComesBackCloseToItsSource() throws {
        let images = try SixelDecoder.images(in: try ChafaSamples.bytes("sixels.escapes"))
        try #require(images.count == 1)
        let sixels = images[0]
        let source = try ChafaSamples.source()
        #expect(sixels.parameters == [0, 1, 0])
        #expect(sixels.rasterAttributes == [1, 1, 32, 24])
        #expect(sixels.image.width == 32 && sixels.image.height == 24)
        // P2 = 1: the transparent hole is left unpainted, every other pixel painted.
        let opaque = (0..<source.width * source.height).map { source.rgba[$0 * 4 + 3] != 0 }
        #expect(sixels.painted == opaque)
        // Measured 33.4 dB with libchafa 1.12.4: a palette of at most 256 colours, and each channel
        // written as a whole percent rounded down (channel × 100 / 255), which leaves every channel
        // about 1.3 too dark on average.
        let psnr = peakSignalToNoiseRatio(sixels.image, source) { x, y in sixels.isPainted(x: x, y: y) }
        #expect(psnr >= 30, "PSNR \(psnr) dB")
    }

    /// Band 0 (rows 0–5) and band 1 (rows 6–7 of a 5×8 raster), colours in HLS and RGB, repeats,
    /// overpainting and unpainted pixels; the expected pixels are worked out by hand below.
    @Test func handWrittenSixelsDecodeAsWorkedOut() throws {
        let data = "\"1;1;5;8"
            + "#1;1;0;50;100!3~"       // blue (DEC hue 0) fills columns 0–2, rows 0–5
            + "#6;2;100;50;0~"         // orange, RGB in percent, column 3, rows 0–5
            + "$#2;1;120;50;100N"      // back to column 0; red (hue 120), 'N' = 15: rows 0–3
            + "#5;1;300;75;0$!4?_"     // grey (no saturation), column 4, '_' = 32: row 5
            + "-#3;1;240;25;100!4B"    // band 1; dark green (hue 240), 'B' = 3: rows 6–7, columns 0–3
            + "#4;1;60;50;100$!4?A"    // magenta (hue 60), column 4, 'A' = 2: row 7
        let stream = Array("\u{1B}P0;1;0q\(data)\u{1B}\\".utf8)
        let images = try SixelDecoder.images(in: stream)
        try #require(images.count == 1)

        let red: [UInt8] = [255, 0, 0, 255], blue: [UInt8] = [0, 0, 255, 255]
        // 50 % of 255 is 127.5, which rounds up.
        let orange: [UInt8] = [255, 128, 0, 255], green: [UInt8] = [0, 128, 0, 255]
        let grey: [UInt8] = [191, 191, 191, 255], magenta: [UInt8] = [255, 0, 255, 255]
        let unset: [UInt8] = [0, 0, 0, 0]
        let rows: [[[UInt8]]] = [
            [red, blue, blue, orange, unset],
            [red, blue, blue, orange, unset],
            [red, blue, blue, orange, unset],
            [red, blue, blue, orange, unset],
            [blue, blue, blue, orange, unset],
            [blue, blue, blue, orange, grey],
            [green, green, green, green, unset],
            [green, green, green, green, magenta],
        ]
        let image = images[0].image
        #expect(image == DecodedImage(width: 5, height: 8, rgba: Array(rows.joined().joined())))
        #expect(images[0].painted == rows.joined().map { $0 != unset })
        #expect(images[0].parameters == [0, 1, 0] && images[0].rasterAttributes == [1, 1, 5, 8])
    }

    /// DEC's hue circle: blue at 0°, red at 120°, green at 240° (not red, green, blue as in CSS).
    @Test(arguments: [
        (0, [0, 0, 255] as [UInt8]), (60, [255, 0, 255]), (120, [255, 0, 0]), (180, [255, 255, 0]),
        (240, [0, 255, 0]), (300, [0, 255, 255]), (360, [0, 0, 255]),
        // Halfway from blue to magenta: red at half strength.
        (30, [128, 0, 255]),
    ])
    func hlsHueStartsAtBlue(hue: Int, rgb: [UInt8]) {
        #expect(SixelDecoder.rgb(hue: hue, lightness: 50, saturation: 100) == rgb)
    }

    @Test func lightnessAndSaturationScaleAsInHLS() {
        #expect(SixelDecoder.rgb(hue: 120, lightness: 0, saturation: 100) == [0, 0, 0])
        #expect(SixelDecoder.rgb(hue: 120, lightness: 100, saturation: 100) == [255, 255, 255])
        #expect(SixelDecoder.rgb(hue: 120, lightness: 75, saturation: 100) == [255, 128, 128])
        #expect(SixelDecoder.rgb(hue: 120, lightness: 50, saturation: 50) == [191, 64, 64])
    }

    @Test func withoutRasterAttributesTheSizeIsWhatWasPainted() throws {
        // '@' paints row 0 only; the final '?' moves on without painting, so width stays 4.
        let image = try SixelDecoder.decode(data: Array("#1;2;0;0;100!4@?-\n!2G".utf8))
        #expect(image.image.width == 4 && image.image.height == 10)
        #expect(image.rasterAttributes == nil)
        #expect(image.image.pixel(x: 3, y: 0) == [0, 0, 255, 255])
        #expect(image.image.pixel(x: 1, y: 9) == [0, 0, 255, 255])  // 'G' = 8: row 3 of band 1
        #expect(!image.isPainted(x: 2, y: 9) && !image.isPainted(x: 0, y: 1))
    }

    @Test func otherDeviceControlStringsArePassedOver() throws {
        let stream = Array("\u{1B}P$qm\u{1B}\\hello\u{1B}P;1q#0;2;0;0;0~\u{1B}\\\u{1B}Pq#0;2;0;0;0~\u{1B}\\".utf8)
        let images = try SixelDecoder.images(in: stream)
        #expect(images.map(\.offset) == [12, 30])
        #expect(images.map(\.parameters) == [[0, 1], []])
    }

    @Test func malformedSixelsAreErrors() throws {
        #expect(throws: SixelError.undefinedColour(register: 3, at: 2)) {
            try SixelDecoder.decode(data: Array("#3~".utf8))
        }
        #expect(throws: SixelError.paintedOutsideRaster(x: 0, y: 2, width: 2, height: 2)) {
            try SixelDecoder.decode(data: Array("\"1;1;2;2#0;2;0;0;0F".utf8))  // 'F' = 7: rows 0–2
        }
        #expect(throws: SixelError.colourOutOfRange(register: 1, space: 2, components: [0, 101, 0], at: 0)) {
            try SixelDecoder.decode(data: Array("#1;2;0;101;0".utf8))
        }
        #expect(throws: SixelError.colourParameters([1, 2, 3], at: 0)) {
            try SixelDecoder.decode(data: Array("#1;2;3".utf8))
        }
        #expect(throws: SixelError.rasterAttributesAfterData(at: 1)) {
            try SixelDecoder.decode(data: Array("?\"1;1;2;2".utf8))
        }
        #expect(throws: SixelError.repeatWithoutSixel(at: 0)) { try SixelDecoder.decode(data: Array("!5$".utf8)) }
        #expect(throws: SixelError.unexpectedByte(UInt8(ascii: "*"), at: 1)) {
            try SixelDecoder.decode(data: Array("?*".utf8))
        }
        #expect(throws: SixelError.stream(.truncated(.deviceControlString, offset: 0, bytesSeen: 6))) {
            try SixelDecoder.images(in: Array("\u{1B}Pq???".utf8))
        }
    }
}
