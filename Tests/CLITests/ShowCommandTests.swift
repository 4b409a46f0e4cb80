import Foundation
import Testing

/// `imagine show` as a person or a script runs it. Standard output is a file here, not a
/// terminal: nothing is asked of a terminal, and `auto` draws symbols.
@Suite struct ShowCommandTests {
    private let source = Imagine.packageRoot.appendingPathComponent("Tests/Fixtures/upscale/source.png")  // 23×17
    private let wide = Imagine.packageRoot.appendingPathComponent("Tests/Fixtures/upscale/resized-40x20.png")

    @Test func kittySendsThePictureAtItsOwnSizeOverTheCellsItFits() throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.run(["show", "--graphics", "kitty", wide.path], in: dir)
            #expect(run.status == 0, "\(run)")
            // 40×20 pixels in 8×16-pixel cells (the size assumed when no terminal says): 5×1 cells.
            #expect(run.stdout.contains("\u{1B}_Ga=T,f=24,s=40,v=20,c=5,r=1,C=1,q=2,m=0;"), "\(run)")
            #expect(run.stdout.hasSuffix("\(wide.path) (40×20)\n"))
        }
    }

    @Test func autoDrawsSymbolsWhenTheOutputIsNotATerminal() throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.run(["show", source.path, wide.path], in: dir)
            #expect(run.status == 0, "\(run)")
            #expect(!run.stdout.contains("\u{1B}_G") && !run.stdout.contains("\u{1B}P") && !run.stdout.contains("\u{1B}]1337"))
            #expect(run.stdout.contains("\u{1B}[38;5;"), "256 colours without COLORTERM: \(run)")
            #expect(run.stdoutLines.filter { $0.hasSuffix("(23×17)") || $0.hasSuffix("(40×20)") }.count == 2)
        }
    }

    @Test func everyModeDrawsAndSixelAndITermSendTheirSequences() throws {
        try withTemporaryDirectory { dir in
            for mode in ["kitty", "sixel", "iterm", "symbols", "halfblocks"] {
                let run = try Imagine.run(["show", "--graphics", mode, source.path], in: dir,
                                          environment: ["COLORTERM": "truecolor"])
                #expect(run.status == 0, "\(mode): \(run)")
                switch mode {
                case "sixel": #expect(run.stdout.contains("\u{1B}P0;1;0q") && run.stdout.contains("#"), "\(run)")
                case "iterm": #expect(run.stdout.contains("\u{1B}]1337;File=inline=1;size="), "\(run)")
                case "symbols", "halfblocks": #expect(run.stdout.contains("\u{1B}[38;2;"), "\(run)")
                default: break
                }
            }
        }
    }

    @Test func aFileThatCannotBeShownIsReportedAndTheRestAreShown() throws {
        try withTemporaryDirectory { dir in
            let text = dir.appendingPathComponent("notes.png")
            try Data("not a picture\n".utf8).write(to: text)
            let truncated = dir.appendingPathComponent("truncated.png")
            let bytes = try Data(contentsOf: source)
            try bytes.prefix(bytes.count / 2).write(to: truncated)
            let missing = dir.appendingPathComponent("missing.png")
            let run = try Imagine.run(["show", "--graphics", "kitty", text.path, truncated.path, missing.path, source.path],
                                      in: dir)
            #expect(run.status == 1, "\(run)")
            #expect(run.stderr.contains("\(text.path): not a PNG file"), "\(run)")
            #expect(run.stderr.contains("\(truncated.path): cannot decode the PNG"), "\(run)")
            #expect(run.stderr.contains("\(missing.path): cannot read the file: No such file or directory"), "\(run)")
            #expect(run.stdout.contains("s=23,v=17"), "the good file is still shown: \(run)")
        }
    }

    @Test func noFilesIsAUsageError() throws {
        try withTemporaryDirectory { dir in
            let run = try Imagine.run(["show"], in: dir)
            #expect(run.status == 64, "\(run)")
            #expect(run.stderr.contains("Missing expected argument '<file> ...'"), "\(run)")
        }
    }
}
