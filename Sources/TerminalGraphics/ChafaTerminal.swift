internal import CChafa

/// libchafa's terminal descriptions: which escape sequences a canvas is printed with.
enum ChafaTerminal {
    /// Terminal info with the sequences `mode` needs. It comes from chafa's terminal database
    /// for a terminal known to speak them, not from the user's environment: the mode has already
    /// been decided (by detection or by the user), and the database would otherwise withhold
    /// sixel sequences from, say, an xterm it cannot tell was started with `-ti vt340`.
    static func info(for mode: GraphicsMode) -> OpaquePointer {
        switch mode {
        case .sixel: sixelInfo
        case .kitty: kittyInfo
        case .iterm: itermInfo
        case .symbols, .halfblocks: textInfo
        }
    }

    // Made once: looking a terminal up in chafa's database builds its whole sequence table.
    // Never changed after, so safe to share between threads.
    nonisolated(unsafe) private static let sixelInfo = lookUp(.sixel)
    nonisolated(unsafe) private static let kittyInfo = lookUp(.kitty)
    nonisolated(unsafe) private static let itermInfo = lookUp(.iterm)
    nonisolated(unsafe) private static let textInfo = lookUp(.symbols)

    private static func lookUp(_ mode: GraphicsMode) -> OpaquePointer {
        let environment: [String]
        switch mode {
        case .sixel: environment = ["TERM=foot"]
        case .kitty: environment = ["TERM=xterm-kitty"]
        case .iterm: environment = ["TERM_PROGRAM=iTerm.app"]
        case .symbols, .halfblocks: environment = ["TERM=xterm-256color", "COLORTERM=truecolor"]
        }
        var strings = environment.map { strdup($0) }
        defer { strings.forEach { free($0) } }
        strings.append(nil)
        return strings.withUnsafeMutableBufferPointer {
            chafa_term_db_detect(chafa_term_db_get_default(), $0.baseAddress)
        }
    }

    /// The canvas as terminal bytes.
    static func print(_ canvas: OpaquePointer?, for mode: GraphicsMode) -> [UInt8] {
        guard let printed = chafa_canvas_print(canvas, info(for: mode)) else { return [] }
        defer { g_string_free(printed, 1) }
        return Array(UnsafeRawBufferPointer(start: printed.pointee.str, count: Int(printed.pointee.len)))
    }
}
