import Testing

/// TerminalStream.split cuts where a terminal would and loses nothing.
@Suite struct TerminalStreamTests {
    @Test func everyKindOfSequenceIsCutWhereItEnds() throws {
        let stream = Array(("ab\r\n\u{1B}[2;5H\u{1B}7\u{1B}(B\u{1B}_Ga=d\u{1B}\\\u{1B}]0;title\u{07}"
            + "\u{1B}]8;;x\u{1B}\\\u{1B}P0;1;0q?\u{1B}\\\u{1B}^pm\u{1B}\\\u{1B}Xsos\u{1B}\\end").utf8)
        let sequences = try TerminalStream.split(stream)
        #expect(sequences.map(\.kind) == [
            .text, .controlSequence, .escape, .escape, .applicationProgramCommand, .operatingSystemCommand,
            .operatingSystemCommand, .deviceControlString, .privacyMessage, .startOfString, .text,
        ])
        #expect(sequences.map { String(decoding: $0.body, as: UTF8.self) } == [
            "ab\r\n", "2;5H", "7", "(B", "Ga=d", "0;title", "8;;x", "0;1;0q?", "pm", "sos", "end",
        ])
        #expect(Array(sequences.map(\.bytes).joined()) == stream)
        #expect(sequences.map(\.offset) == [0, 4, 10, 12, 15, 23, 33, 41, 52, 58, 65])
    }

    /// BEL ends only an OSC; inside any other string it is just a byte.
    @Test func bellEndsOnlyOperatingSystemCommands() throws {
        let sequences = try TerminalStream.split(Array("\u{1B}_Ga\u{07}b\u{1B}\\".utf8))
        #expect(sequences.count == 1 && sequences[0].body == Array("Ga\u{07}b".utf8)[...])
    }

    @Test func streamsEndingMidSequenceAreErrors() throws {
        #expect(throws: TerminalStreamError.truncated(.escape, offset: 2, bytesSeen: 1)) {
            try TerminalStream.split(Array("ab\u{1B}".utf8))
        }
        #expect(throws: TerminalStreamError.truncated(.controlSequence, offset: 0, bytesSeen: 4)) {
            try TerminalStream.split(Array("\u{1B}[12".utf8))
        }
        // ESC as the very last byte: the ESC \ terminator is cut in half.
        #expect(throws: TerminalStreamError.truncated(.applicationProgramCommand, offset: 1, bytesSeen: 5)) {
            try TerminalStream.split(Array("x\u{1B}_Ga\u{1B}".utf8))
        }
    }

    @Test func escapeInsideAStringIsAnError() throws {
        let error = TerminalStreamError.interruptedString(.deviceControlString, offset: 0, escapeAt: 4)
        #expect(throws: error) { try TerminalStream.split(Array("\u{1B}Pq?\u{1B}[0m".utf8)) }
        #expect("\(error)" == "the deviceControlString starting at byte 0 is interrupted by ESC at byte 4 not followed by \\")
    }
}
