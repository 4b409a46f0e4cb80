import Testing
@testable import TerminalGraphics

@Suite struct GraphicsDetectionTests {
    private func replies(_ text: String) -> TerminalReplies { TerminalReplies(parsing: Array(text.utf8)) }
    private let xtermVT340 = "\u{1B}P>|XTerm(379)\u{1B}\\\u{1B}[6;13;6t\u{1B}[?63;1;2;4;6;9;15;16;22;28c"
    private let kitty = "\u{1B}_Gi=31;OK\u{1B}\\\u{1B}P>|kitty(0.26.5)\u{1B}\\\u{1B}[?62;c"
    private let plainXterm = "\u{1B}P>|XTerm(379)\u{1B}\\\u{1B}[?64;1;2;6;9;15;18;21;22c"

    private func decide(_ answered: String, _ environment: [String: String] = [:], terminfoRGB: Bool = false,
                        tmux: GraphicsDetection.Tmux? = nil) -> GraphicsDetection {
        GraphicsDetection.decide(replies: replies(answered), environment: environment,
                                 trueColorInTerminfo: terminfoRGB, tmux: tmux)
    }

    @Test func eachTerminalGetsItsBestMode() {
        #expect(decide(kitty).mode == .kitty)
        #expect(decide(xtermVT340).mode == .sixel)
        #expect(decide(xtermVT340).cellSize == CellSize(width: 6, height: 13))
        #expect(decide(plainXterm).mode == .symbols)
        // WezTerm answers sixel but draws true colour through iTerm2's protocol; it is known by
        // name (TERM_PROGRAM, or XTVERSION), and by its answer when kitty graphics are enabled.
        #expect(decide("\u{1B}[?65;4;6;18;22c", ["TERM_PROGRAM": "WezTerm"]).mode == .iterm)
        #expect(decide("\u{1B}P>|WezTerm 20240203\u{1B}\\\u{1B}[?65;4;6;18;22c").mode == .iterm)
        #expect(decide("\u{1B}_Gi=31;OK\u{1B}\\\u{1B}[?65;4c", ["TERM_PROGRAM": "WezTerm"]).mode == .kitty)
        #expect(decide("\u{1B}[?62;c", ["TERM_PROGRAM": "iTerm.app"]).mode == .iterm)
        // Nothing answered at all (a pipe, a terminal that never replies).
        #expect(decide("").mode == .symbols)
    }

    @Test func colorsComeFromCOLORTERMOrTerminfo() {
        #expect(decide(plainXterm).colors == .palette256)
        #expect(decide(plainXterm, ["COLORTERM": "truecolor"]).colors == .trueColor)
        #expect(decide(plainXterm, ["COLORTERM": "24bit"]).colors == .trueColor)
        #expect(decide(plainXterm, terminfoRGB: true).colors == .trueColor)
    }

    @Test func insideTmuxPixelsNeedPassthroughAndTheUserIsToldHow() {
        let kittyOutside = GraphicsDetection.Tmux(passthroughAllowed: false, clientTermName: "xterm-kitty",
                                                  clientTermType: "kitty(0.26.5)", clientTermFeatures: "256,RGB,title")
        // tmux answers the queries itself: its own DA1 says nothing of the terminal outside.
        let off = decide("\u{1B}[?1;2c", tmux: kittyOutside)
        #expect(off.mode == .symbols)
        #expect(!off.tmuxPassthrough)
        #expect(off.colors == .trueColor, "tmux lists RGB among the outer terminal's features")
        #expect(off.hint?.contains("allow-passthrough on") == true)

        var on = kittyOutside
        on.passthroughAllowed = true
        let allowed = decide("\u{1B}[?1;2c", tmux: on)
        #expect(allowed.mode == .kitty && allowed.tmuxPassthrough && allowed.hint == nil)

        let sixelOutside = GraphicsDetection.Tmux(passthroughAllowed: true, clientTermName: "foot",
                                                  clientTermType: "foot(1.13.1)", clientTermFeatures: "256,RGB,sixel")
        #expect(decide("\u{1B}[?1;2c", tmux: sixelOutside).mode == .sixel)

        // An outer terminal with no known pictures: symbols, and nothing to hint at.
        let plain = GraphicsDetection.Tmux(passthroughAllowed: false, clientTermName: "xterm-256color",
                                           clientTermType: "XTerm(379)", clientTermFeatures: "256")
        let unknown = decide("\u{1B}[?1;2c", tmux: plain)
        #expect(unknown.mode == .symbols && unknown.hint == nil && unknown.colors == .palette256)
    }
}
