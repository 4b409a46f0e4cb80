/// One kitty graphics command (https://sw.kovidgoyal.net/kitty/graphics-protocol/) with its chunks
/// put back together.
struct KittyGraphicsCommand: Equatable, Sendable {
    /// Control data of the command's first chunk, `m` included: `a`, `f`, `s`, `v`, `i`, `c`, `r`,
    /// `q`, `C`, `d`, ….
    var keys: [String: String]
    /// The keys in the order they were sent.
    var keyOrder: [String]
    /// Where the first chunk starts in the stream.
    var offset: Int
    /// Base64 characters in each chunk, first to last (one entry for an unchunked command).
    var chunkPayloadSizes: [Int]
    /// Every chunk's payload, each decoded on its own, concatenated.
    var payload: [UInt8]
    /// The pixels of a direct transmission in format 24 or 32; nil for anything else (deletions,
    /// placements, PNG, files, shared memory).
    var image: DecodedImage?

    /// `a`: what the command does; transmit (`t`) when absent.
    var action: String { keys["a"] ?? "t" }

    func integer(_ key: String) -> Int? { keys[key].flatMap { Int($0) } }
}

enum KittyGraphicsError: Error, Equatable, CustomStringConvertible {
    case stream(TerminalStreamError)
    case malformedControlData(offset: Int, item: String)
    case badBase64(offset: Int, chunk: Int, Base64Error)
    /// A continuation chunk may carry only `m` (and `q`); the rest belongs on the first chunk.
    case keysOnContinuationChunk(offset: Int, keys: [String])
    /// The stream ends while a chunked transmission (m=1) still waits for its last chunk.
    case unfinishedTransmission(offset: Int, chunks: Int)
    case missingKey(offset: Int, key: String)
    case unsupportedFormat(offset: Int, format: String)
    case compressedPayload(offset: Int, compression: String)
    case payloadSize(offset: Int, width: Int, height: Int, bytesPerPixel: Int, actual: Int)

    var description: String {
        switch self {
        case let .stream(error): "\(error)"
        case let .malformedControlData(offset, item):
            "the kitty command at byte \(offset) has control data item \"\(item)\", not key=value"
        case let .badBase64(offset, chunk, error):
            "chunk \(chunk) of the kitty command at byte \(offset): \(error)"
        case let .keysOnContinuationChunk(offset, keys):
            "the kitty continuation chunk at byte \(offset) carries \(keys.joined(separator: ",")); only m and q belong there"
        case let .unfinishedTransmission(offset, chunks):
            "the stream ends after \(chunks) chunks of the kitty transmission at byte \(offset) without a chunk with m=0"
        case let .missingKey(offset, key):
            "the kitty transmission at byte \(offset) has no \(key)= key"
        case let .unsupportedFormat(offset, format):
            "the kitty transmission at byte \(offset) has f=\(format); only 24, 32 and 100 are defined"
        case let .compressedPayload(offset, compression):
            "the kitty transmission at byte \(offset) has o=\(compression); this decoder reads uncompressed pixels only"
        case let .payloadSize(offset, width, height, bytesPerPixel, actual):
            "the kitty transmission at byte \(offset) declares \(width)×\(height)×\(bytesPerPixel) = "
                + "\(width * height * bytesPerPixel) bytes but its payload decodes to \(actual)"
        }
    }
}

/// Finds the kitty graphics commands (ESC _ G <key=value,…> [; <base64>] ESC \) in a terminal byte
/// stream. Everything else, text and other escape sequences included, is passed over; use
/// `TerminalStream.split` to see it.
enum KittyGraphicsDecoder {
    static func commands(in stream: [UInt8]) throws -> [KittyGraphicsCommand] {
        let sequences: [TerminalSequence]
        do { sequences = try TerminalStream.split(stream) } catch let error as TerminalStreamError {
            throw KittyGraphicsError.stream(error)
        }

        var commands: [KittyGraphicsCommand] = []
        // The command whose last chunk sent m=1: the next graphics command continues it.
        var unfinished: KittyGraphicsCommand?
        for sequence in sequences where sequence.kind == .applicationProgramCommand {
            guard sequence.body.first == UInt8(ascii: "G") else { continue }
            let chunk = try Chunk(sequence)
            var command: KittyGraphicsCommand
            if var continued = unfinished {
                let misplaced = chunk.keyOrder.filter { $0 != "m" && $0 != "q" }
                guard misplaced.isEmpty else {
                    throw KittyGraphicsError.keysOnContinuationChunk(offset: chunk.offset, keys: misplaced)
                }
                continued.payload += try chunk.decodedPayload(commandOffset: continued.offset,
                                                              index: continued.chunkPayloadSizes.count)
                continued.chunkPayloadSizes.append(chunk.payload.count)
                command = continued
            } else {
                command = KittyGraphicsCommand(
                    keys: chunk.keys, keyOrder: chunk.keyOrder, offset: chunk.offset,
                    chunkPayloadSizes: [chunk.payload.count],
                    payload: try chunk.decodedPayload(commandOffset: chunk.offset, index: 0), image: nil)
            }
            if chunk.keys["m"] == "1" {
                unfinished = command
            } else {
                unfinished = nil
                command.image = try image(of: command)
                commands.append(command)
            }
        }
        if let unfinished {
            throw KittyGraphicsError.unfinishedTransmission(offset: unfinished.offset,
                                                            chunks: unfinished.chunkPayloadSizes.count)
        }
        return commands
    }

    /// One APC G sequence: control data, then optionally ';' and base64.
    private struct Chunk {
        var offset: Int
        var keys: [String: String] = [:]
        var keyOrder: [String] = []
        var payload: ArraySlice<UInt8>

        init(_ sequence: TerminalSequence) throws {
            offset = sequence.offset
            let afterG = sequence.body.dropFirst()
            let semicolon = afterG.firstIndex(of: UInt8(ascii: ";"))
            let control = afterG[..<(semicolon ?? afterG.endIndex)]
            payload = semicolon.map { afterG[($0 + 1)...] } ?? afterG[afterG.endIndex...]
            for item in control.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
            where !(item.isEmpty && control.isEmpty) {
                let text = String(decoding: item, as: UTF8.self)
                let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty else {
                    throw KittyGraphicsError.malformedControlData(offset: offset, item: text)
                }
                keys[String(parts[0])] = String(parts[1])
                keyOrder.append(String(parts[0]))
            }
        }

        // Each chunk is decoded on its own: libchafa 1.12 pads every chunk with '=', so the
        // concatenated text is not one valid base64 string. The protocol allows this (each chunk
        // but the last is a multiple of 4 characters), and kitty decodes chunk by chunk as well.
        func decodedPayload(commandOffset: Int, index: Int) throws -> [UInt8] {
            do { return try Base64Decoder.decode(payload) } catch let error as Base64Error {
                throw KittyGraphicsError.badBase64(offset: commandOffset, chunk: index, error)
            }
        }
    }

    /// Pixels for a direct (t=d), uncompressed transmission in format 24 or 32.
    private static func image(of command: KittyGraphicsCommand) throws -> DecodedImage? {
        guard ["t", "T", "q"].contains(command.action), (command.keys["t"] ?? "d") == "d" else { return nil }
        let format = command.keys["f"] ?? "32"
        let bytesPerPixel: Int
        switch format {
        case "24": bytesPerPixel = 3
        case "32": bytesPerPixel = 4
        case "100": return nil
        default: throw KittyGraphicsError.unsupportedFormat(offset: command.offset, format: format)
        }
        if let compression = command.keys["o"] {
            throw KittyGraphicsError.compressedPayload(offset: command.offset, compression: compression)
        }
        guard let width = command.integer("s") else { throw KittyGraphicsError.missingKey(offset: command.offset, key: "s") }
        guard let height = command.integer("v") else { throw KittyGraphicsError.missingKey(offset: command.offset, key: "v") }
        guard command.payload.count == width * height * bytesPerPixel else {
            throw KittyGraphicsError.payloadSize(offset: command.offset, width: width, height: height,
                                                 bytesPerPixel: bytesPerPixel, actual: command.payload.count)
        }
        return bytesPerPixel == 4
            ? DecodedImage(width: width, height: height, rgba: command.payload)
            : DecodedImage(width: width, height: height, rgb: command.payload)
    }
}
