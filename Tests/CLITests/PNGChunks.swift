import Foundation

/// A PNG file read as its chunks, with every chunk's CRC checked: enough to assert what
/// `imagine generate` wrote without any image library.
struct PNGChunks {
    struct Chunk {
        let type: String
        let data: [UInt8]
    }

    enum Problem: Error, CustomStringConvertible {
        case notPNG(String)
        var description: String {
            switch self { case .notPNG(let why): return "not a valid PNG: \(why)" }
        }
    }

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    let chunks: [Chunk]

    init(contentsOf url: URL) throws {
        try self.init(bytes: [UInt8](try Data(contentsOf: url)))
    }

    init(bytes: [UInt8]) throws {
        guard bytes.count >= 8, Array(bytes[0..<8]) == Self.signature else { throw Problem.notPNG("bad signature") }
        var chunks: [Chunk] = []
        var offset = 8
        func u32(_ at: Int) -> UInt32 {
            bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
        while offset < bytes.count {
            guard offset + 12 <= bytes.count else { throw Problem.notPNG("truncated chunk header at \(offset)") }
            let length = Int(u32(offset))
            guard offset + 12 + length <= bytes.count else { throw Problem.notPNG("truncated chunk at \(offset)") }
            let typeAndData = Array(bytes[offset + 4 ..< offset + 8 + length])
            guard crc32(typeAndData) == u32(offset + 8 + length) else { throw Problem.notPNG("bad CRC at \(offset)") }
            let type = String(decoding: typeAndData[0..<4], as: UTF8.self)
            chunks.append(Chunk(type: type, data: Array(typeAndData[4...])))
            offset += 12 + length
            if type == "IEND" { break }
        }
        guard chunks.first?.type == "IHDR", chunks.first?.data.count == 13 else { throw Problem.notPNG("no IHDR first") }
        guard chunks.last?.type == "IEND", offset == bytes.count else { throw Problem.notPNG("no IEND last") }
        guard chunks.contains(where: { $0.type == "IDAT" }) else { throw Problem.notPNG("no IDAT") }
        self.chunks = chunks
    }

    private var header: [UInt8] { chunks[0].data }
    var width: Int { Int(header[0..<4].reduce(0) { $0 << 8 | UInt32($1) }) }
    var height: Int { Int(header[4..<8].reduce(0) { $0 << 8 | UInt32($1) }) }
    var bitDepth: Int { Int(header[8]) }
    /// 2: RGB, 6: RGBA, 0: grey.
    var colorType: Int { Int(header[9]) }

    /// The compressed pixel data (all IDAT chunks): equal bytes from the same writer mean equal pixels.
    var imageData: [UInt8] { chunks.filter { $0.type == "IDAT" }.flatMap(\.data) }

    /// tEXt chunks as key → value (Latin-1, as the PNG spec defines them), and iTXt chunks
    /// without compression (UTF-8).
    var text: [String: String] {
        var result: [String: String] = [:]
        for chunk in chunks {
            guard let nul = chunk.data.firstIndex(of: 0) else { continue }
            let key = String(decoding: chunk.data[..<nul], as: UTF8.self)
            if chunk.type == "tEXt" {
                result[key] = String(bytes: chunk.data[(nul + 1)...], encoding: .isoLatin1)
            } else if chunk.type == "iTXt", chunk.data.count > nul + 2, chunk.data[nul + 1] == 0 {
                // compression flag, method, language tag\0, translated keyword\0, text
                var rest = chunk.data[(nul + 3)...]
                guard let languageEnd = rest.firstIndex(of: 0) else { continue }
                rest = rest[(languageEnd + 1)...]
                guard let translatedEnd = rest.firstIndex(of: 0) else { continue }
                result[key] = String(decoding: rest[(translatedEnd + 1)...], as: UTF8.self)
            }
        }
        return result
    }
}

/// CRC-32 as PNG (and zlib) define it.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}
