import Foundation
import ImageIO
import Testing

@Suite struct PNGEncodingTests {
    @Test(arguments: [(1, 1), (3, 7), (129, 65), (2, 1), (1, 300)])
    func pixelsSurviveARoundTrip(width: Int, height: Int) throws {
        let image = noiseImage(width: width, height: height, seed: UInt64(width * 1000 + height))
        let png = try PNGWriter.encode(image, text: [])
        #expect(decodePNG(png) == image)

        let chunks = try #require(pngChunks(png))
        #expect(chunks.allSatisfy { $0.crcIsValid })
        #expect(chunks.first?.type == "IHDR")
        #expect(chunks.last?.type == "IEND")
        // IHDR: width, height (big-endian), bit depth 8, colour type 2 (RGB), deflate, adaptive
        // filtering, no interlace.
        let ihdr = try #require(chunks.first).data
        let be = { (v: Int) in [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        #expect(ihdr == be(width) + be(height) + [8, 2, 0, 0, 0])
        #expect(pngTexts(chunks).isEmpty)
    }

    @Test func textChunksKeepKeysValuesAndOrder() throws {
        let parameters = """
            a photo of a cat, (masterpiece:1.2)
            Negative prompt: blurry
            Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 512x512
            """
        let text: [(key: String, value: String)] = [
            ("parameters", parameters),
            ("Latin-1 ½ clé", "Café crème, 25 °C, ñ ÿ"),
            ("prompt", "🐱 猫の写真, café"),
            ("empty", ""),
        ]
        let png = try PNGWriter.encode(noiseImage(width: 5, height: 3, seed: 1), text: text)
        let chunks = try #require(pngChunks(png))
        #expect(chunks.allSatisfy { $0.crcIsValid })
        #expect(pngTexts(chunks) == [
            PNGText(chunkType: "tEXt", key: "parameters", value: parameters),
            PNGText(chunkType: "tEXt", key: "Latin-1 ½ clé", value: "Café crème, 25 °C, ñ ÿ"),
            PNGText(chunkType: "iTXt", key: "prompt", value: "🐱 猫の写真, café"),
            PNGText(chunkType: "tEXt", key: "empty", value: ""),
        ])
        // Before the pixels, so readers that stop at IDAT still find the metadata.
        let types = chunks.map(\.type)
        let firstIDAT = try #require(types.firstIndex(of: "IDAT"))
        #expect(types.lastIndex { $0 == "tEXt" || $0 == "iTXt" }! < firstIDAT)
    }

    @Test func latin1ValueIsStoredAsLatin1Bytes() throws {
        let png = try PNGWriter.encode(noiseImage(width: 1, height: 1, seed: 2), text: [("k", "é")])
        let chunk = try #require(pngChunks(png)?.first { $0.type == "tEXt" })
        #expect(chunk.data == [0x6B, 0, 0xE9])
    }

    @Test(arguments: [
        ("", "1–79"),
        (String(repeating: "k", count: 80), "80 characters"),
        (" parameters", "spaces"),
        ("parameters ", "spaces"),
        ("two  spaces", "spaces"),
        ("tab\there", "printable"),
        ("non-breaking\u{A0}space", "printable"),
        ("emoji🐱", "not Latin-1"),
    ])
    func invalidKeywordsAreRefused(key: String, why: String) throws {
        let error = #expect(throws: PNGError.self) {
            try PNGWriter.encode(noiseImage(width: 1, height: 1, seed: 3), text: [(key, "value")])
        }
        #expect(error?.path == nil)
        #expect(error?.description.contains("invalid PNG keyword '\(key)'") == true)
        #expect(error?.description.contains(why) == true)
    }

    @Test func longestKeywordIsAccepted() throws {
        let key = String(repeating: "k", count: 79)
        let png = try PNGWriter.encode(noiseImage(width: 1, height: 1, seed: 4), text: [(key, "v")])
        #expect(pngTexts(try #require(pngChunks(png))) == [PNGText(chunkType: "tEXt", key: key, value: "v")])
    }

    @Test func nulInValueIsRefused() throws {
        let error = #expect(throws: PNGError.self) {
            try PNGWriter.encode(noiseImage(width: 1, height: 1, seed: 5), text: [("parameters", "a\u{0}b")])
        }
        #expect(error?.description.contains("'parameters'") == true)
        #expect(error?.description.contains("NUL") == true)
    }

    @Test func libpngErrorsComeBackAsMessages() throws {
        let error = #expect(throws: PNGError.self) {
            try PNGWriter.encode(RGBImage(width: 0, height: 4, pixels: []), text: [])
        }
        #expect(error?.description == "PNG encoding: libpng: Invalid IHDR data (Image width is zero in IHDR)")
    }

    @Test func pixelCountChangedAfterInitIsRefused() throws {
        var image = noiseImage(width: 2, height: 2, seed: 6)
        image.pixels.removeLast()
        let error = #expect(throws: PNGError.self) { try PNGWriter.encode(image, text: []) }
        #expect(error?.description == "PNG encoding: image 2×2 needs 12 bytes, has 11")
    }
}
