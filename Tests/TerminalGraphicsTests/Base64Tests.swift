import Foundation
import Testing
@testable import TerminalGraphics

/// Base64 on RFC 4648's test vectors, on what libchafa 1.12 actually writes, and on broken input.
@Suite struct Base64Tests {
    @Test(arguments: [("", ""), ("Zg==", "f"), ("Zm8=", "fo"), ("Zm9v", "foo"), ("Zm9vYg==", "foob"),
                      ("Zm9vYmE=", "fooba"), ("Zm9vYmFy", "foobar")])
    func rfc4648Vectors(encoded: String, decoded: String) throws {
        #expect(try Base64Decoder.decode(Array(encoded.utf8)) == Array(decoded.utf8))
        // Kitty allows the last chunk to go unpadded.
        #expect(try Base64Decoder.decode(Array(encoded.utf8).filter { $0 != UInt8(ascii: "=") }) == Array(decoded.utf8))
    }

    /// libchafa before 1.16 ends a 512-byte kitty chunk with "o/P=" where "o/M=" is canonical: the
    /// two spare bits are set. They carry nothing, and the bytes decode as any terminal decodes them.
    @Test func spareBitsAreIgnored() throws {
        #expect(try Base64Decoder.decode(Array("o/P=".utf8)) == [0xA3, 0xF3])
        #expect(try Base64Decoder.decode(Array("o/M=".utf8)) == [0xA3, 0xF3])
        #expect(try Base64Decoder.decode(Array("/+/+".utf8)) == [0xFF, 0xEF, 0xFE])
    }

    @Test func brokenInputIsAnError() throws {
        #expect(throws: Base64Error.invalidCharacter(UInt8(ascii: "-"), offset: 2)) {
            try Base64Decoder.decode(Array("Zm-v".utf8))
        }
        #expect(throws: Base64Error.danglingCharacter(count: 5)) { try Base64Decoder.decode(Array("Zm9vY".utf8)) }
        #expect(throws: Base64Error.misplacedPadding(offset: 2)) { try Base64Decoder.decode(Array("Zg==Zg==".utf8)) }
        #expect(throws: Base64Error.invalidCharacter(UInt8(ascii: "\n"), offset: 4)) {
            try Base64Decoder.decode(Array("Zm9v\nYmFy".utf8))
        }
        #expect(throws: Base64Error.invalidCharacter(UInt8(ascii: "*"), offset: 1)) {
            try Base64Decoder.decode(Array("Z*9vY".utf8))
        }
    }

    /// The presenter's encoder against Foundation's, for every length of the last group.
    @Test func encodingMatchesFoundationForEveryTailLength() throws {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 2, 3, 4, 5, 6, 7, 100, 4097] {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let encoded = Base64.encode(bytes)
            #expect(String(decoding: encoded, as: UTF8.self) == Data(bytes).base64EncodedString())
            #expect(try Base64Decoder.decode(encoded) == bytes)
        }
    }
}
