/// One sixel image (DEC VT340 "Sixel Graphics", as xterm and foot implement it).
struct SixelImage: Equatable, Sendable {
    /// Painted pixels in their colours, alpha 255; pixels never painted are (0, 0, 0, 0). Size: the
    /// raster attributes' Ph×Pv when present, else the smallest rectangle from (0, 0) that holds
    /// every painted pixel.
    var image: DecodedImage
    /// (height, width): whether any sixel painted the pixel. A terminal shows the background there,
    /// or leaves what was underneath when P2 = 1.
    var painted: [Bool]
    /// P1;P2;P3 of the DCS as far as sent, an empty one read as its default 0.
    var parameters: [Int]
    /// Pan;Pad;Ph;Pv of the raster attributes ("), as sent; nil if there were none. Pixels are
    /// decoded one to one whatever aspect ratio Pan:Pad or P1 asks for.
    var rasterAttributes: [Int]?
    /// Where the DCS starts in the stream.
    var offset: Int

    func isPainted(x: Int, y: Int) -> Bool { painted[y * image.width + x] }
}

enum SixelError: Error, Equatable, CustomStringConvertible {
    case stream(TerminalStreamError)
    /// `at` counts from the first byte after 'q'.
    case unexpectedByte(UInt8, at: Int)
    case colourParameters([Int], at: Int)
    case colourOutOfRange(register: Int, space: Int, components: [Int], at: Int)
    case undefinedColour(register: Int, at: Int)
    case rasterAttributesAfterData(at: Int)
    case repeatWithoutSixel(at: Int)
    case paintedOutsideRaster(x: Int, y: Int, width: Int, height: Int)
    case tooLarge(x: Int, y: Int, limit: Int)

    var description: String {
        switch self {
        case let .stream(error): "\(error)"
        case let .unexpectedByte(byte, at):
            "byte \(byte) (\(Unicode.Scalar(byte).escaped(asASCII: true))) at \(at) of the sixel data is not part of the sixel syntax"
        case let .colourParameters(parameters, at):
            "colour command at \(at) has \(parameters.count) parameters \(parameters); it takes 1 (select) or 5 (define)"
        case let .colourOutOfRange(register, space, components, at):
            "colour \(register) at \(at) in space \(space) has components \(components) outside "
                + (space == 1 ? "hue 0...360, lightness and saturation 0...100" : "0...100 percent")
                + (space == 1 || space == 2 ? "" : " (space must be 1 = HLS or 2 = RGB)")
        case let .undefinedColour(register, at):
            "sixel at \(at) paints with colour \(register), which was never defined; terminals' default palettes differ"
        case let .rasterAttributesAfterData(at):
            "raster attributes at \(at) come after sixel data; they must come first"
        case let .repeatWithoutSixel(at):
            "repeat at \(at) is not followed by a sixel character"
        case let .paintedOutsideRaster(x, y, width, height):
            "a sixel paints pixel (\(x), \(y)) outside the raster attributes' \(width)×\(height)"
        case let .tooLarge(x, y, limit):
            "a sixel paints pixel (\(x), \(y)), beyond this decoder's limit of \(limit) pixels a side"
        }
    }
}

/// Decodes the sixel images (ESC P P1;P2;P3 q … ESC \) in a terminal byte stream; other device
/// control strings, text and escape sequences are passed over.
enum SixelDecoder {
    /// Past this many pixels a side the input is surely broken (a runaway repeat count).
    static let sizeLimit = 16_384

    static func images(in stream: [UInt8]) throws -> [SixelImage] {
        let sequences: [TerminalSequence]
        do { sequences = try TerminalStream.split(stream) } catch let error as TerminalStreamError {
            throw SixelError.stream(error)
        }
        var images: [SixelImage] = []
        for sequence in sequences where sequence.kind == .deviceControlString {
            // Parameters, then the final byte: 'q' with no intermediate bytes before it makes it
            // sixel (DECRQSS, ESC P $ q, also ends in 'q').
            let body = sequence.body
            guard let finalIndex = body.firstIndex(where: { !(0x30...0x3F).contains($0) }),
                  body[finalIndex] == UInt8(ascii: "q") else { continue }
            let parameterBytes = body[..<finalIndex]
            let parameters = parameterBytes.isEmpty ? [] : parameterBytes
                .split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
                .map { Int(String(decoding: $0, as: UTF8.self)) ?? 0 }
            var image = try decode(data: Array(body[(finalIndex + 1)...]))
            image.parameters = parameters
            image.offset = sequence.offset
            images.append(image)
        }
        return images
    }

    /// Decodes the sixel data that follows 'q'.
    static func decode(data: [UInt8]) throws -> SixelImage {
        var canvas = SixelCanvas()
        var palette: [Int: [UInt8]] = [:]
        var colour = 0
        var x = 0
        var bandTop = 0
        var rasterAttributes: [Int]?
        var dataStarted = false
        var position = 0

        func number() -> Int? {
            var value: Int?
            while position < data.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(data[position]) {
                // Capped so that a runaway count fails on the size limit rather than overflowing.
                value = min((value ?? 0) * 10 + Int(data[position] - UInt8(ascii: "0")), 1_000_000)
                position += 1
            }
            return value
        }
        func numbers() -> [Int] {
            var values = [number() ?? 0]
            while position < data.count && data[position] == UInt8(ascii: ";") {
                position += 1
                values.append(number() ?? 0)
            }
            return values
        }
        func paint(_ sixel: UInt8, count: Int, at: Int) throws {
            dataStarted = true
            // '?' (63) is the empty sixel; bit 0 is the band's top row.
            let bits = sixel - UInt8(ascii: "?")
            if bits != 0 {
                guard let rgb = palette[colour] else { throw SixelError.undefinedColour(register: colour, at: at) }
                for row in 0..<6 where bits & (1 << row) != 0 {
                    for column in x..<x + count {
                        try canvas.paint(x: column, y: bandTop + row, rgb: rgb)
                    }
                }
            }
            x += count
        }

        while position < data.count {
            let start = position
            let byte = data[position]
            position += 1
            switch byte {
            case UInt8(ascii: "?")...UInt8(ascii: "~"):
                try paint(byte, count: 1, at: start)
            case UInt8(ascii: "!"):
                // A count of 0 or none means 1, as on the VT340.
                let count = max(number() ?? 1, 1)
                guard position < data.count, (UInt8(ascii: "?")...UInt8(ascii: "~")).contains(data[position]) else {
                    throw SixelError.repeatWithoutSixel(at: start)
                }
                position += 1
                try paint(data[position - 1], count: count, at: start)
            case UInt8(ascii: "#"):
                let parameters = numbers()
                switch parameters.count {
                case 1: break
                case 5: palette[parameters[0]] = try rgb(ofColour: parameters, at: start)
                default: throw SixelError.colourParameters(parameters, at: start)
                }
                // Defining a colour also selects it (xterm, foot and libsixel agree).
                colour = parameters[0]
            case UInt8(ascii: "\""):
                guard !dataStarted else { throw SixelError.rasterAttributesAfterData(at: start) }
                let attributes = numbers()
                rasterAttributes = attributes
                if attributes.count >= 4 { try canvas.fix(width: attributes[2], height: attributes[3]) }
            case UInt8(ascii: "$"):
                x = 0
            case UInt8(ascii: "-"):
                x = 0
                bandTop += 6
            case 0x0A, 0x0D:
                // Encoders may wrap long lines; the VT340 ignores the line breaks.
                break
            default:
                throw SixelError.unexpectedByte(byte, at: start)
            }
        }
        return canvas.image(rasterAttributes: rasterAttributes)
    }

    /// `#Pc;Pu;Px;Py;Pz`: Pu = 2 is RGB in percent, Pu = 1 is hue (degrees), lightness, saturation.
    private static func rgb(ofColour parameters: [Int], at: Int) throws -> [UInt8] {
        let (register, space, components) = (parameters[0], parameters[1], Array(parameters[2...]))
        let outOfRange = SixelError.colourOutOfRange(register: register, space: space, components: components, at: at)
        switch space {
        case 2:
            guard components.allSatisfy({ $0 <= 100 }) else { throw outOfRange }
            return components.map { UInt8((Double($0) * 255 / 100).rounded()) }
        case 1:
            guard components[0] <= 360, components[1] <= 100, components[2] <= 100 else { throw outOfRange }
            return rgb(hue: components[0], lightness: components[1], saturation: components[2])
        default:
            throw outOfRange
        }
    }

    /// DEC's HLS: the hue circle starts at blue, so 0° is blue, 120° red and 240° green (VT340 manual,
    /// "Color Specification"; xterm and mintty rotate by 240° to reach the usual red-at-0° circle).
    /// Lightness and saturation are percentages; channels round to nearest, halves up.
    static func rgb(hue: Int, lightness: Int, saturation: Int) -> [UInt8] {
        let standardHue = Double((hue + 240) % 360)
        let l = Double(lightness) / 100
        let chroma = (1 - abs(2 * l - 1)) * Double(saturation) / 100
        let sector = standardHue / 60
        let second = chroma * (1 - abs(sector.truncatingRemainder(dividingBy: 2) - 1))
        let (r, g, b): (Double, Double, Double) = switch Int(sector) {
        case 0: (chroma, second, 0)
        case 1: (second, chroma, 0)
        case 2: (0, chroma, second)
        case 3: (0, second, chroma)
        case 4: (second, 0, chroma)
        default: (chroma, 0, second)
        }
        let lightest = l - chroma / 2
        return [r, g, b].map { UInt8(((($0 + lightest) * 255)).rounded()) }
    }
}

/// Pixels painted so far: fixed by raster attributes, or growing to hold whatever is painted.
private struct SixelCanvas {
    var width = 0
    var height = 0
    var isFixed = false
    var rgb: [UInt8] = []      // (height, width, 3)
    var painted: [Bool] = []   // (height, width)
    var extentWidth = 0
    var extentHeight = 0

    mutating func fix(width: Int, height: Int) throws {
        guard width <= SixelDecoder.sizeLimit && height <= SixelDecoder.sizeLimit else {
            throw SixelError.tooLarge(x: width, y: height, limit: SixelDecoder.sizeLimit)
        }
        resize(width: width, height: height)
        isFixed = true
    }

    mutating func paint(x: Int, y: Int, rgb colour: [UInt8]) throws {
        if x >= width || y >= height {
            guard !isFixed else { throw SixelError.paintedOutsideRaster(x: x, y: y, width: width, height: height) }
            guard x < SixelDecoder.sizeLimit && y < SixelDecoder.sizeLimit else {
                throw SixelError.tooLarge(x: x, y: y, limit: SixelDecoder.sizeLimit)
            }
            resize(width: max(width, x + 1, width * 2), height: max(height, y + 1, height * 2))
        }
        let index = y * width + x
        rgb[index * 3..<index * 3 + 3] = colour[...]
        painted[index] = true
        extentWidth = max(extentWidth, x + 1)
        extentHeight = max(extentHeight, y + 1)
    }

    private mutating func resize(width newWidth: Int, height newHeight: Int) {
        var newRGB = [UInt8](repeating: 0, count: newWidth * newHeight * 3)
        var newPainted = [Bool](repeating: false, count: newWidth * newHeight)
        for y in 0..<min(height, newHeight) {
            let columns = min(width, newWidth)
            newRGB[y * newWidth * 3..<(y * newWidth + columns) * 3] = rgb[y * width * 3..<(y * width + columns) * 3]
            newPainted[y * newWidth..<y * newWidth + columns] = painted[y * width..<y * width + columns]
        }
        (width, height, rgb, painted) = (newWidth, newHeight, newRGB, newPainted)
    }

    /// The image with empty DCS parameters and offset; `SixelDecoder.images` fills them in.
    func image(rasterAttributes: [Int]?) -> SixelImage {
        let (outWidth, outHeight) = isFixed ? (width, height) : (extentWidth, extentHeight)
        var rgba = [UInt8](repeating: 0, count: outWidth * outHeight * 4)
        var mask = [Bool](repeating: false, count: outWidth * outHeight)
        for y in 0..<outHeight {
            for x in 0..<outWidth where painted[y * width + x] {
                let from = (y * width + x) * 3
                let to = (y * outWidth + x) * 4
                rgba[to..<to + 3] = rgb[from..<from + 3]
                rgba[to + 3] = 255
                mask[y * outWidth + x] = true
            }
        }
        return SixelImage(image: DecodedImage(width: outWidth, height: outHeight, rgba: rgba), painted: mask,
                          parameters: [], rasterAttributes: rasterAttributes, offset: 0)
    }
}
