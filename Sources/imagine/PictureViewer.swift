import Foundation
import ImageIO
import TerminalGraphics

/// PNG files drawn one after another in the scrolling output of a terminal: `imagine show` and
/// `imagine generate --show`.
struct PictureViewer {
    let descriptor: Int32
    let presenter: PicturePresenter

    /// Asks the terminal on `descriptor` what it draws (a tmux hint goes to standard error).
    init(graphicsOptions: GraphicsOptions, descriptor: Int32) {
        self.descriptor = descriptor
        let detection = graphicsOptions.detect(output: descriptor)
        if let hint = detection.hint { printError("note: \(hint)") }
        presenter = PicturePresenter(detection)
    }

    /// Draws the PNG at `path`, keeping `rowsBelow` rows of the terminal free under it, then
    /// `caption` on the next line.
    func show(_ path: String, rowsBelow: Int, caption: ((RGBImage) -> String)? = nil) throws {
        let image = try PNGReader.read(URL(fileURLWithPath: path))
        let (columns, rows) = TerminalProbe.windowSize(descriptor)
        var bytes = try presenter.inline(image, maxColumns: columns, maxRows: max(1, rows - rowsBelow))
        if let caption { bytes += Array((caption(image) + "\n").utf8) }
        try StandardStream.write(bytes, to: descriptor)
    }
}
