import Foundation
import Testing
@testable import TerminalGraphics

@Suite struct Base64Tests {
    @Test func matchesFoundationForEveryTailLength() {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 2, 3, 4, 5, 6, 7, 100, 4097] {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(String(decoding: Base64.encode(bytes), as: UTF8.self) == Data(bytes).base64EncodedString())
        }
    }
}
