import CBFloat16GEMM

/// Which side of a product a weight is on, which decides how a bf16 weight is packed: a
/// convolution's [out, in·k·k] is A (out rows of C), a linear layer's [out, in] is B read
/// transposed (out columns of C).
public enum WeightUse: Sendable, Equatable {
    case convolution
    case linear

    var packRole: imagine_pack_role { self == .convolution ? IMAGINE_PACK_AS_A : IMAGINE_PACK_AS_B }
    /// Output features per packed panel.
    var panelWidth: Int { imagine_bf16_panel_width(packRole) }
}

/// A layer's weight (a linear layer's [out, in], a convolution's [out, in, k, k]) as it is kept in
/// memory: fp32, or bf16 packed once at load into the panels the bf16 GEMM reads (half the bytes,
/// and no packing per call, which cost as much as the products on low-resolution layers), or the
/// fp16 values of an fp16 checkpoint at precision fp32.
public enum WeightMatrix: Sendable, Equatable {
    case fp32(Tensor)
    case bf16(PackedBFloat16Matrix)
    /// Row-major fp16 values, widened to fp32 for each product (F16C's vcvtph2ps, exact): fp32
    /// results bit for bit in half the memory of `.fp32`, for the time of a widening per product
    /// (a 256² U-Net step measured 25–35 % slower), hence opt-in (`IMAGINE_FP16_WEIGHTS`).
    case fp16(shape: [Int], values: [Float16])

    /// `tensor` kept in `precision`: as is for fp32, rounded to nearest (ties to even) and packed
    /// for `use` for bf16.
    public init(_ tensor: Tensor, precision: Precision, use: WeightUse) {
        switch precision {
        case .fp32: self = .fp32(tensor)
        case .bf16: self = .bf16(PackedBFloat16Matrix(shape: tensor.shape, bits: roundedToBFloat16(tensor.data), use: use))
        }
    }

    public var shape: [Int] {
        switch self {
        case .fp32(let tensor): return tensor.shape
        case .bf16(let packed): return packed.shape
        case .fp16(let shape, _): return shape
        }
    }

    public var precision: Precision {
        switch self {
        case .fp32, .fp16: return .fp32
        case .bf16: return .bf16
        }
    }

    /// The same values under another shape with the same output features and element count.
    public func reshaped(_ newShape: [Int]) -> WeightMatrix {
        switch self {
        case .fp32(let tensor): return .fp32(tensor.reshaped(newShape))
        case .bf16(let packed):
            precondition(newShape.first == packed.shape[0] && newShape.reduce(1, *) == packed.shape.reduce(1, *),
                         "cannot reshape \(packed.shape) to \(newShape)")
            return .bf16(PackedBFloat16Matrix(shape: newShape, use: packed.use, words: packed.words))
        case .fp16(let shape, let values):
            precondition(newShape.reduce(1, *) == shape.reduce(1, *), "cannot reshape \(shape) to \(newShape)")
            return .fp16(shape: newShape, values: values)
        }
    }

    /// The values as fp32, row-major (bf16 and fp16 widen exactly).
    public var floats: [Float] {
        switch self {
        case .fp32(let tensor): return tensor.data
        case .bf16(let packed): return packed.floats
        case .fp16(_, let values): return widened(values)
        }
    }

    /// Row `row` (an embedding table's entry) added to `target` [columns].
    public func addRow(_ row: Int, to target: UnsafeMutablePointer<Float>) {
        switch self {
        case .fp32(let tensor):
            let columns = tensor.count / tensor.shape[0]
            tensor.data.withUnsafeBufferPointer { values in
                let source = values.baseAddress! + row * columns
                for c in 0..<columns { target[c] += source[c] }
            }
        case .bf16(let packed):
            let width = packed.use.panelWidth, columns = packed.columns
            packed.words.withUnsafeBufferPointer { words in
                // Column pair p of row r sits in word p·width + r of r's panel.
                let source = words.baseAddress! + row / width * packed.panelStride + row % width
                for c in 0..<columns {
                    let word = source[c / 2 * width]
                    target[c] += Float(bitPattern: c % 2 == 0 ? word << 16 : word & 0xffff_0000)
                }
            }
        case .fp16(let shape, let values):
            let columns = values.count / shape[0]
            values.withUnsafeBufferPointer { values in
                let source = values.baseAddress! + row * columns
                for c in 0..<columns { target[c] += Float(source[c]) }
            }
        }
    }

    /// Matrices with the same columns, precision and use stacked by rows (several projections of
    /// one input as one GEMM).
    public static func stackingRows(_ parts: [WeightMatrix]) -> WeightMatrix {
        let columns = parts[0].shape.dropFirst().reduce(1, *)
        precondition(parts.allSatisfy { $0.shape.dropFirst().reduce(1, *) == columns && $0.precision == parts[0].precision },
                     "stacked weights must share their columns and precision")
        let rows = parts.reduce(0) { $0 + $1.shape[0] }
        switch parts[0] {
        case .fp16 where parts.allSatisfy({ if case .fp16 = $0 { true } else { false } }):
            return .fp16(shape: [rows, columns], values: parts.flatMap { part -> [Float16] in
                guard case .fp16(_, let values) = part else { return [] }
                return values
            })
        case .fp32, .fp16: return .fp32(Tensor(shape: [rows, columns], data: parts.flatMap(\.floats)))
        case .bf16(let first):
            // bf16 values widen and round back exactly.
            return WeightMatrix(Tensor(shape: [rows, columns], data: parts.flatMap(\.floats)), precision: .bf16,
                                use: first.use)
        }
    }

    /// `body` with this matrix as a GEMM operand for `use`: fp32 rows of `leadingDimension`
    /// elements, read transposed when `transposed` (fp16 widened to a temporary fp32 copy first);
    /// a packed bf16 weight as it is.
    public func withOperand<R>(for use: WeightUse, transposed: Bool, leadingDimension: Int,
                               _ body: (MatrixOperand) -> R) -> R {
        switch self {
        case .fp32(let tensor):
            return tensor.data.withUnsafeBufferPointer {
                body(MatrixOperand(fp32: $0.baseAddress!, leadingDimension: leadingDimension, transposed: transposed))
            }
        case .bf16(let packed):
            precondition(packed.use == use, "a weight packed for \(packed.use) used for \(use)")
            return packed.withOperand(body)
        case .fp16(_, let values):
            return widened(values).withUnsafeBufferPointer {
                body(MatrixOperand(fp32: $0.baseAddress!, leadingDimension: leadingDimension, transposed: transposed))
            }
        }
    }
}

/// fp16 values widened to fp32 (exactly), on all threads for large arrays.
func widened(_ values: [Float16]) -> [Float] {
    [Float](unsafeUninitializedCapacity: values.count) { buffer, initialized in
        values.withUnsafeBufferPointer { source in
            parallelFor(values.count, minimumPerThread: 1 << 16) { range in
                for i in range { buffer[i] = Float(source[i]) }
            }
        }
        initialized = values.count
    }
}

/// A bf16 matrix in the bf16 GEMM's panel layout (see imagine_bf16_pack): a weight, packed once
/// at load, or attention's K and V, packed once per head for all its blocks of queries.
public struct PackedBFloat16Matrix: Sendable, Equatable {
    public let shape: [Int]
    public let use: WeightUse
    let words: [UInt32]

    var rows: Int { shape[0] }
    var columns: Int { shape.dropFirst().reduce(1, *) }
    /// Words from one panel to the next.
    var panelStride: Int { imagine_bf16_packed_words(use.packRole, 1, columns) }

    /// Packs row-major bf16 `bits` of `shape` ([out, …]).
    public init(shape: [Int], bits: [UInt16], use: WeightUse) {
        precondition(bits.count == shape.reduce(1, *), "shape \(shape) holds \(shape.reduce(1, *)) values, got \(bits.count)")
        self.shape = shape
        self.use = use
        let rows = shape[0], columns = shape.dropFirst().reduce(1, *)
        words = bits.withUnsafeBufferPointer {
            packedForBFloat16GEMM(imagine_matrix(data: $0.baseAddress!, is_bf16: 1, is_packed: 0, row_stride: columns,
                                                 col_stride: 1),
                                  rows: rows, columns: columns, role: use.packRole)
        }
    }

    /// The GEMM operand B [k, n] (fp32) packed as a linear layer's weight [n, k] is.
    init(packingB operand: MatrixOperand, k: Int, n: Int) {
        let b = operand.descriptor
        precondition(b.is_bf16 == 0 && b.is_packed == 0, "only fp32 operands are packed at run time")
        shape = [n, k]
        use = .linear
        // Element (feature j, k index p) is B's (p, j).
        words = packedForBFloat16GEMM(imagine_matrix(data: b.data, is_bf16: 0, is_packed: 0, row_stride: b.col_stride,
                                                     col_stride: b.row_stride),
                                      rows: n, columns: k, role: use.packRole)
    }

    /// `body` with this matrix as the GEMM operand its use makes it (A or B).
    func withOperand<R>(_ body: (MatrixOperand) -> R) -> R {
        words.withUnsafeBufferPointer {
            body(MatrixOperand(packed: $0.baseAddress!, panelWidth: use.panelWidth, panelStride: panelStride))
        }
    }

    init(shape: [Int], use: WeightUse, words: [UInt32]) {
        self.shape = shape
        self.use = use
        self.words = words
    }

    /// The weight widened to row-major fp32, panels split over the threads.
    var floats: [Float] {
        let (rows, columns, width) = (self.rows, self.columns, use.panelWidth)
        let panels = (rows + width - 1) / width, stride = panelStride
        return [Float](unsafeUninitializedCapacity: rows * columns) { buffer, initialized in
            words.withUnsafeBufferPointer { source in
                parallelFor(panels, minimumPerThread: max(1, (1 << 16) / max(1, stride))) { range in
                    let first = range.lowerBound * width
                    imagine_bf16_unpack(use.packRole, source.baseAddress! + range.lowerBound * stride,
                                        min(rows, range.upperBound * width) - first, columns,
                                        buffer.baseAddress! + first * columns)
                }
            }
            initialized = rows * columns
        }
    }
}

/// `source` [rows, columns] packed for the bf16 GEMM in `role`, panels split over the threads.
func packedForBFloat16GEMM(_ source: imagine_matrix, rows: Int, columns: Int, role: imagine_pack_role) -> [UInt32] {
    let count = imagine_bf16_packed_words(role, rows, columns)
    let width = imagine_bf16_panel_width(role), panelWords = imagine_bf16_packed_words(role, 1, columns)
    let panels = (rows + width - 1) / width
    return [UInt32](unsafeUninitializedCapacity: count) { buffer, initialized in
        parallelFor(panels, minimumPerThread: max(1, (1 << 16) / max(1, panelWords))) { range in
            var part = source
            part.data = source.data + range.lowerBound * width * source.row_stride
                * (source.is_bf16 != 0 ? 2 : 4)
            imagine_bf16_pack(role, part, min(rows, range.upperBound * width) - range.lowerBound * width, columns,
                              buffer.baseAddress! + range.lowerBound * panelWords)
        }
        initialized = count
    }
}

/// fp32 → bf16 bits, rounded to nearest (ties to even); NaN stays NaN. The C kernel's own
/// rounding, so values rounded here and values rounded while packing agree bit for bit.
@inlinable @inline(__always)
public func bfloat16Bits(_ value: Float) -> UInt16 { imagine_bf16_round(value) }

/// fp32 values rounded to bf16 bits (to nearest, ties to even), on all threads for large arrays.
public func roundedToBFloat16(_ values: [Float]) -> [UInt16] {
    [UInt16](unsafeUninitializedCapacity: values.count) { buffer, initialized in
        values.withUnsafeBufferPointer { source in
            parallelFor(values.count, minimumPerThread: 1 << 16) { range in
                for i in range { buffer[i] = bfloat16Bits(source[i]) }
            }
        }
        initialized = values.count
    }
}
