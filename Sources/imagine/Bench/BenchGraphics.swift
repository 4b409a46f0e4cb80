import ArgumentParser
@preconcurrency import CCurses
import Dispatch
import Foundation
import ImageIO
import Live
import Models
import TerminalGraphics

/// `imagine bench graphics`: what drawing a picture costs in each terminal mode, beside what
/// rendering it costs.
struct BenchGraphics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphics",
        abstract: "Time encoding and writing a picture in each terminal graphics mode, beside the live preview's render.",
        discussion: """
            For each --sizes picture (the model's live preview settings, rendered at that size, \
            so the picture has real content), times imagine live's presenter filling a \
            --columns × --rows panel of --cell-width × --cell-height pixel cells: encoding \
            (resampling, palette, base64, PNG) and writing the bytes into a pseudo-terminal \
            whose other end is drained as fast as it fills (what a terminal then spends \
            drawing them is the terminal's and is not included). The preview render is timed \
            the same way in the same run, so the last column is the share of a keystroke's \
            work that drawing takes.

            EXAMPLES
              imagine bench graphics
              imagine bench graphics --sizes 256,512 --columns 200 --rows 60 --runs 9
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var renderOptions: LiveRenderOptions

    @Option(help: ArgumentHelp("Picture sizes in pixels, comma-separated (default: the model's live preview size, 256 and 512).",
                               valueName: "sizes"))
    var sizes: String?

    @Option(help: "Panel size in cells.")
    var columns = 100

    @Option(help: "Panel size in cells.")
    var rows = 38

    @Option(help: "Cell size in pixels.")
    var cellWidth = 8

    @Option(help: "Cell size in pixels.")
    var cellHeight = 16

    @Option(help: "Timed runs after one warm-up run.")
    var runs = 7

    @OptionGroup var threadOptions: ThreadOptions

    private var sizeList: [Int]? {
        sizes.map { $0.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
    }

    func validate() throws {
        if let sizeList, sizeList.isEmpty || sizeList.contains(where: { $0 < 8 || $0 % 8 != 0 }) {
            throw ValidationError("--sizes must be multiples of 8, comma-separated, got '\(sizes ?? "")'")
        }
        if columns < 1 || rows < 1 || cellWidth < 1 || cellHeight < 1 || runs < 1 {
            throw ValidationError("--columns, --rows, --cell-width, --cell-height and --runs must be at least 1")
        }
    }

    func run() throws {
        threadOptions.apply()
        let model = try reportingErrors { try modelOptions.load() }
        let pipeline = Pipeline(model: model)
        var settings = try reportingErrors { try renderOptions.settings(for: pipeline) }
        let terminal = try PseudoTerminal()
        let area = PictureLayout(column: 0, row: 0, columns: columns, rows: rows)
        print("panel \(columns)×\(rows) cells of \(cellWidth)×\(cellHeight) pixels; medians of \(runs); "
              + "model \(model.name), preview \(settings.previewSteps) step(s), \(settings.previewDecoder.rawValue) decoder")
        print("| picture | preview render | mode | encode | write | bytes | draw ÷ render |")
        print("|---|---|---|---|---|---|---|")
        var pictureSizes = [settings.previewSize]
        for size in [256, 512] where !pictureSizes.contains(size) { pictureSizes.append(size) }
        for size in sizeList ?? pictureSizes {
            settings.previewSize = size
            let request = settings.request(prompt: "a lighthouse on a cliff at sunset", seed: 1, quality: .preview)
            var image = PNGOutput.rgbImage(try reportingErrors { try pipeline.generate(request) }.image)
            let render = median(try (0..<runs).map { _ in
                let start = DispatchTime.now()
                image = PNGOutput.rgbImage(try reportingErrors { try pipeline.generate(request) }.image)
                return seconds(since: start)
            })
            for mode in GraphicsMode.allCases {
                let presenter = PicturePresenter(mode: mode, colors: .trueColor,
                                                 cell: CellSize(width: cellWidth, height: cellHeight))
                var bytes = try presenter.place(image, in: area)
                try terminal.write(bytes)
                var encodeTimes: [Double] = [], writeTimes: [Double] = []
                for _ in 0..<runs {
                    presenter.forgetPlaced()
                    let start = DispatchTime.now()
                    bytes = try presenter.place(image, in: area)
                    encodeTimes.append(seconds(since: start))
                    let written = DispatchTime.now()
                    try terminal.write(bytes)
                    writeTimes.append(seconds(since: written))
                }
                let encode = median(encodeTimes), write = median(writeTimes)
                print("| \(size)² | \(milliseconds(render)) | \(mode) | \(milliseconds(encode)) | \(milliseconds(write)) | "
                      + "\(ByteCountFormatter.string(fromByteCount: Int64(bytes.count), countStyle: .binary)) | "
                      + String(format: "%.2f |", (encode + write) / render))
            }
        }
    }

    private func milliseconds(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1000) }
}

/// A pseudo-terminal whose master side a thread drains, so that writes to it cost what writing
/// to a terminal costs the writer.
private final class PseudoTerminal {
    private var master: Int32 = -1
    private var slave: Int32 = -1

    init() throws {
        guard openpty(&master, &slave, nil, nil, nil) == 0 else {
            throw ValidationError("cannot open a pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        var modes = termios()
        tcgetattr(slave, &modes)
        cfmakeraw(&modes)  // bytes as they are: no newline translation in the way
        tcsetattr(slave, TCSANOW, &modes)
        let descriptor = master
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while buffer.withUnsafeMutableBytes({ read(descriptor, $0.baseAddress, $0.count) }) > 0 {}
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try StandardStream.write(bytes, to: slave)
    }
}
