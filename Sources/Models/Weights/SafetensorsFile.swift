import Foundation
import Kernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An element type of the safetensors format, spelled as in the file's header.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2: 1
        case .i16, .u16, .f16, .bf16: 2
        case .i32, .u32, .f32: 4
        case .i64, .u64, .f64: 8
        }
    }
}

/// One header entry, validated: its bytes lie inside the data section, overlap no other tensor's,
/// and are exactly `elementCount × dtype.byteSize` long.
public struct SafetensorsTensorInfo: Sendable {
    public let name: String
    public let dtype: SafetensorsDType
    /// Row-major; `[]` for a 0-d tensor (one element).
    public let shape: [Int]
    /// Where the stored bytes lie, relative to the start of the data section (file byte 8 + N).
    public let byteRange: Range<Int>

    /// The product of `shape`; the file was refused at open if it overflows.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors checkpoint, memory-mapped and validated when opened.
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON (tensor name →
/// `{"dtype", "shape", "data_offsets": [begin, end]}` plus an optional `"__metadata__"` object of
/// strings), then the data section that the offsets index into.
///
/// Every inconsistency a download or an exporter can produce is found by `init`, so the accessors
/// trust the header: a model either gets the file whole or a `SafetensorsError` naming what is
/// wrong. Immutable after `init`, hence safe to share between threads.
public final class SafetensorsFile: @unchecked Sendable {
    public let url: URL
    /// The header's `"__metadata__"` (empty when absent).
    public let metadata: [String: String]

    /// How errors name the file: its path.
    private let fileName: String
    /// Owns the mapping that `data` points into.
    private let storage: FileBytes
    /// The bytes after the header; `SafetensorsTensorInfo.byteRange` indexes into them.
    private let data: UnsafeRawBufferPointer
    private let infos: [String: SafetensorsTensorInfo]
    private let sortedNames: [String]

    /// Refused header lengths beyond this: no real header comes close (8,700 tensors take 1 MB),
    /// and the reference reader uses the same limit.
    static let maxHeaderLength = 100_000_000

    /// Maps the file read-only and validates all of it; the data stays on disk (or in the page
    /// cache) until a tensor is read.
    public convenience init(url: URL) throws {
        try self.init(storage: FileBytes(mapping: url.path), url: url, fileName: url.path)
    }

    /// Opens a copy of `bytes` as if it were a file called `name`, through the same validation as
    /// `init(url:)`: lets tests check many generated files without a disk write each.
    convenience init(bytes: UnsafeRawBufferPointer, name: String) throws {
        try self.init(storage: FileBytes(copying: bytes), url: URL(fileURLWithPath: name, isDirectory: false),
                      fileName: name)
    }

    private init(storage: FileBytes, url: URL, fileName: String) throws {
        let header = try SafetensorsHeaderParser.parseFile(storage.bytes, fileName: fileName)
        self.url = url
        self.fileName = fileName
        self.storage = storage
        self.data = UnsafeRawBufferPointer(rebasing: storage.bytes[header.dataStart...])
        self.infos = header.tensors
        self.metadata = header.metadata
        self.sortedNames = header.tensors.keys.sorted()
    }

    /// Every tensor's name, sorted.
    public var tensorNames: [String] { sortedNames }

    public func info(_ name: String) -> SafetensorsTensorInfo? { infos[name] }

    public func contains(_ name: String) -> Bool { infos[name] != nil }

    /// The tensor `name` converted to fp32, with its stored shape.
    ///
    /// F32, F16, BF16 and F64 convert; other dtypes (such as CLIP's int64 `position_ids`) throw,
    /// though the file itself opens fine. Large tensors convert on all threads.
    public func tensor(_ name: String) throws -> Tensor {
        guard let info = infos[name] else {
            throw SafetensorsError(file: fileName, tensor: name, reason: "not in the file")
        }
        let source = data.baseAddress! + info.byteRange.lowerBound
        let count = info.elementCount
        let (values, nonFinite): ([Float], Int)
        switch info.dtype {
        case .f32: (values, nonFinite) = decode(source, count: count, as: UInt32.self) { Float(bitPattern: $0) }
        case .f16: (values, nonFinite) = decode(source, count: count, as: UInt16.self) { Float(Float16(bitPattern: $0)) }
        // bf16 is the top half of an fp32.
        case .bf16: (values, nonFinite) = decode(source, count: count, as: UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
        // An F64 beyond fp32's range becomes infinite here, and is refused with the rest.
        case .f64: (values, nonFinite) = decode(source, count: count, as: UInt64.self) { Float(Double(bitPattern: $0)) }
        case .bool, .u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64, .f8e4m3, .f8e5m2:
            throw SafetensorsError(
                file: fileName, tensor: name,
                reason: "dtype \(info.dtype.rawValue) cannot be converted to fp32 (only F32, F16, BF16 and F64 can)")
        }
        // The stored bytes are dead weight once converted: without this a model's peak RSS would
        // count its weights twice, as stored and as fp32.
        storage.releaseFromMemory(source, byteCount: info.byteRange.count)
        try checkFinite(name, nonFinite: nonFinite, of: count)
        return Tensor(shape: info.shape, data: values)
    }

    /// The weight matrix `name` in `precision`, packed for `use` when bf16. For bf16 the stored
    /// values convert straight to bf16 bits (F32 and F16 rounded to nearest even, BF16 copied),
    /// so loading never holds the fp32 copy that would double the peak memory bf16 is meant to halve.
    public func matrix(_ name: String, precision: Precision, use: WeightUse) throws -> WeightMatrix {
        try matrix(name, precision: precision, use: use, keepingFP16: Self.keepsFP16Weights)
    }

    /// `IMAGINE_FP16_WEIGHTS=1`: at fp32, F16 weights stay fp16 (`WeightMatrix.fp16`). They widen
    /// exactly, so results do not change and fp32 weights take half the memory (SD-Turbo-size
    /// 512²: peak 2.55 GB instead of 5.04 GB), but each product widens its weight first: a
    /// 256² U-Net step measured 25–35 % slower, so it is not the default.
    static let keepsFP16Weights = ProcessInfo.processInfo.environment["IMAGINE_FP16_WEIGHTS"] == "1"

    /// `matrix`, with `keepingFP16` in place of the environment's choice.
    func matrix(_ name: String, precision: Precision, use: WeightUse, keepingFP16: Bool) throws -> WeightMatrix {
        if precision == .fp32, keepingFP16, let info = infos[name], info.dtype == .f16 {
            let source = data.baseAddress! + info.byteRange.lowerBound
            let (values, nonFinite) = decode(source, count: info.elementCount, as: UInt16.self) { Float16(bitPattern: $0) }
            storage.releaseFromMemory(source, byteCount: info.byteRange.count)
            try checkFinite(name, nonFinite: nonFinite, of: info.elementCount)
            return .fp16(shape: info.shape, values: values)
        }
        guard precision == .bf16, let info = infos[name], [.f32, .f16, .bf16].contains(info.dtype) else {
            return WeightMatrix(try tensor(name), precision: precision, use: use)
        }
        let source = data.baseAddress! + info.byteRange.lowerBound
        let count = info.elementCount
        let (bits, nonFinite): ([UInt16], Int)
        switch info.dtype {
        case .bf16: (bits, nonFinite) = decode(source, count: count, as: UInt16.self) { $0 }
        case .f16: (bits, nonFinite) = decode(source, count: count, as: UInt16.self) { bfloat16Bits(Float(Float16(bitPattern: $0))) }
        default: (bits, nonFinite) = decode(source, count: count, as: UInt32.self) { bfloat16Bits(Float(bitPattern: $0)) }
        }
        storage.releaseFromMemory(source, byteCount: info.byteRange.count)
        try checkFinite(name, nonFinite: nonFinite, of: count)
        return .bf16(PackedBFloat16Matrix(shape: info.shape, bits: bits, use: use))
    }

    /// Weights with NaN or infinite values (a diverged training run, a bad conversion) would turn
    /// every picture black without a word, so every tensor is checked as it is converted.
    private func checkFinite(_ name: String, nonFinite: Int, of count: Int) throws {
        guard nonFinite == 0 else {
            throw SafetensorsError(file: fileName, tensor: name,
                                   reason: "\(nonFinite) of \(count) values are NaN or infinite; the weights are corrupt")
        }
    }

    /// The stored bytes of `name`, unconverted and possibly unaligned; valid while this object
    /// lives. For tests: models read tensors through `tensor` and `matrix`.
    func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let info = infos[name] else {
            throw SafetensorsError(file: fileName, tensor: name, reason: "not in the file")
        }
        return UnsafeRawBufferPointer(rebasing: data[info.byteRange])
    }
}

/// Converts `count` little-endian `Raw` values at `source` to fp32 (or, for bf16 weights, to bf16
/// bits), counting the NaN and infinite results on the way (while each value is in a register, so
/// the check adds no pass over memory; a separate pass over SD 1.5's 4.3 GB of fp32 measured 0.7 s).
///
/// Loads are unaligned because the format does not align offsets. Large tensors are split over
/// threads in contiguous runs, so each thread streams through its own pages. (Measured for a
/// 1.7 GB fp16 file: the conversion itself takes ~0.1 s on one core; first-touch page faults on
/// the 3.4 GB fp32 output take 1.5 s or more, and are the system's cost, not this loop's.)
@inline(__always)
private func decode<Raw: FixedWidthInteger, Value: NonFiniteTestable>(
    _ source: UnsafeRawPointer, count: Int, as _: Raw.Type, _ toFloat: (Raw) -> Value
) -> (values: [Value], nonFinite: Int) {
    let lock = NSLock()
    var nonFinite = 0
    let values = [Value](unsafeUninitializedCapacity: count) { buffer, initialized in
        if let out = buffer.baseAddress {
            parallelFor(count, minimumPerThread: 1 << 16) { range in
                var bad = 0
                for i in range {
                    let raw = source.loadUnaligned(fromByteOffset: i * MemoryLayout<Raw>.size, as: Raw.self)
                    let value = toFloat(Raw(littleEndian: raw))
                    out[i] = value
                    bad &+= value.isNonFinite ? 1 : 0
                }
                lock.lock()
                nonFinite += bad
                lock.unlock()
            }
        }
        initialized = count
    }
    return (values, nonFinite)
}

/// A converted weight value that can say it is NaN or infinite: an fp32, an fp16, or bf16 bits.
private protocol NonFiniteTestable {
    var isNonFinite: Bool { get }
}

extension Float: NonFiniteTestable {
    var isNonFinite: Bool { bitPattern & 0x7F80_0000 == 0x7F80_0000 }
}

extension Float16: NonFiniteTestable {
    var isNonFinite: Bool { !isFinite }
}

extension UInt16: NonFiniteTestable {
    /// As bf16 bits: all 8 exponent bits set.
    var isNonFinite: Bool { self & 0x7F80 == 0x7F80 }
}

/// The bytes of an open file. An object of its own so that they are released both with their
/// `SafetensorsFile` and when validation throws inside `SafetensorsFile.init`, before that object
/// exists.
private final class FileBytes {
    let bytes: UnsafeRawBufferPointer
    /// True for an mmap'd file (munmap), false for a heap copy (deallocate) or an empty file (nothing).
    private let isMapped: Bool

    /// Maps the file at `path` read-only. Like any mmap reader, this trusts that no one rewrites or
    /// truncates the file while it is open: Linux shows such changes through the mapping, and a
    /// read past a truncated end raises SIGBUS.
    init(mapping path: String) throws {
        func failure(_ what: String) -> SafetensorsError {
            SafetensorsError(file: path, reason: "\(what): \(String(cString: strerror(errno)))")
        }
        // O_NONBLOCK: opening a FIFO would otherwise wait for a writer forever (it is refused below).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw failure("cannot open") }
        // The mapping keeps its own reference to the file.
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw failure("cannot stat") }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw SafetensorsError(file: path, reason: "not a regular file")
        }
        let size = Int(status.st_size)
        guard size > 0 else {
            // mmap refuses length 0; validation reports the empty file as too short.
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            isMapped = false
            return
        }
        let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let base, base != MAP_FAILED else { throw failure("cannot mmap \(size) bytes") }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
        isMapped = true
    }

    /// Takes the mapped pages wholly inside `[start, start + byteCount)` out of this process's
    /// resident set. They stay in the kernel's page cache, and reading them again (`rawBytes`, a
    /// second `tensor` call) faults them back in from the file, so every pointer stays valid.
    func releaseFromMemory(_ start: UnsafeRawPointer, byteCount: Int) {
        guard isMapped else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + byteCount) / page * page
        guard end > first else { return }
        madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, MADV_DONTNEED)
    }

    init(copying source: UnsafeRawBufferPointer) {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: source.count, alignment: 16)
        copy.copyMemory(from: source)
        bytes = UnsafeRawBufferPointer(copy)
        isMapped = false
    }

    deinit {
        guard let base = bytes.baseAddress else { return }
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        } else {
            base.deallocate()
        }
    }
}
