import CPNG
import Foundation
import Kernels
import ImageIO

/// One chunk of a PNG file as the test reads it, independently of the writer's code.
struct PNGChunk {
    var type: String
    var data: [UInt8]
    /// The stored CRC matches CRC-32 over type and data (PNG specification §5.3).
    var crcIsValid: Bool
}

/// Splits a PNG file into chunks; nil if the signature or a length is wrong, or bytes trail IEND.
func pngChunks(_ bytes: [UInt8]) -> [PNGChunk]? {
    let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    guard bytes.starts(with: signature) else { return nil }
    func bigEndian32(_ at: Int) -> UInt32 { bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
    var chunks: [PNGChunk] = []
    var offset = signature.count
    while offset < bytes.count {
        guard offset + 12 <= bytes.count else { return nil }
        let length = Int(bigEndian32(offset))
        guard offset + 12 + length <= bytes.count else { return nil }
        let typeAndData = Array(bytes[offset + 4..<offset + 8 + length])
        chunks.append(PNGChunk(
            type: String(decoding: typeAndData.prefix(4), as: UTF8.self),
            data: Array(typeAndData.dropFirst(4)),
            crcIsValid: crc32(typeAndData) == bigEndian32(offset + 8 + length)))
        offset += 12 + length
        if chunks.last?.type == "IEND" { return offset == bytes.count ? chunks : nil }
    }
    return nil
}

/// CRC-32 as PNG and zlib define it (reflected polynomial 0xEDB88320), bit by bit: slow, but
/// short enough to check by eye.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// A tEXt or iTXt chunk decoded the way PIL's PngImagePlugin does: tEXt as Latin-1, iTXt as UTF-8.
struct PNGText: Equatable {
    var chunkType: String
    var key: String
    var value: String
}

func pngTexts(_ chunks: [PNGChunk]) -> [PNGText] {
    let latin1 = { (bytes: ArraySlice<UInt8>) in String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) })) }
    return chunks.compactMap { chunk -> PNGText? in
        let data = chunk.data[...]
        guard let keyEnd = data.firstIndex(of: 0) else { return nil }
        let key = latin1(data[..<keyEnd])
        switch chunk.type {
        case "tEXt":
            return PNGText(chunkType: "tEXt", key: key, value: latin1(data[(keyEnd + 1)...]))
        case "iTXt":
            // keyword NUL, compression flag, compression method, language tag NUL, translated
            // keyword NUL, text. The flag and method bytes may themselves be 0, so they are
            // skipped by position before looking for NULs again. We write neither compression,
            // language nor translation.
            let rest = data[(keyEnd + 1)...]
            guard rest.starts(with: [0, 0]), rest.dropFirst(2).starts(with: [0, 0]) else { return nil }
            return PNGText(chunkType: "iTXt", key: key, value: String(decoding: rest.dropFirst(4), as: UTF8.self))
        default:
            return nil
        }
    }
}

/// Decodes with libpng's simplified API, which catches its own errors (no longjmp reaches Swift).
func decodePNG(_ png: [UInt8]) -> RGBImage? {
    var image = png_image()
    image.version = UInt32(PNG_IMAGE_VERSION)
    guard png.withUnsafeBytes({ png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }) != 0 else {
        return nil
    }
    image.format = UInt32(PNG_FORMAT_RGB)
    var pixels = [UInt8](repeating: 0, count: Int(image.width) * Int(image.height) * 3)
    guard png_image_finish_read(&image, nil, &pixels, 0, nil) != 0 else {
        png_image_free(&image)
        return nil
    }
    return RGBImage(width: Int(image.width), height: Int(image.height), pixels: pixels)
}


func noiseImage(width: Int, height: Int, seed: UInt64) -> RGBImage {
    var rng = SplitMix64(seed: seed)
    return RGBImage(width: width, height: height, pixels: (0..<width * height * 3).map { _ in UInt8.random(in: 0...255, using: &rng) })
}

/// A fresh empty directory, removed with everything in it after `body`.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    var template = Array((NSTemporaryDirectory() + "/imageio-tests.XXXXXX").utf8CString)
    guard let created = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
    let directory = URL(fileURLWithPath: String(cString: created), isDirectory: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

func directoryListing(_ directory: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
}
