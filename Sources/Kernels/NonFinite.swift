/// Counting NaN and infinite values: a diverging render shows up as these, and an image made from
/// them is silently black. The count reads the bits (an fp32 is NaN or infinite exactly when its 8
/// exponent bits are all ones), an integer reduction the compiler vectorises; large buffers are
/// split over the threads. (Weights are counted while they convert, in the safetensors reader.)

/// How many fp32 values are NaN or ±infinity.
public func nonFiniteCount(_ values: UnsafeBufferPointer<Float>) -> Int {
    values.withMemoryRebound(to: UInt32.self) { countAllOnes($0, mask: 0x7F80_0000) }
}

extension Tensor {
    /// True when no value is NaN or infinite.
    public var isFinite: Bool {
        data.withUnsafeBufferPointer(nonFiniteCount) == 0
    }
}

/// Values whose bits under `mask` are all ones, counted in parallel runs.
private func countAllOnes<Bits: FixedWidthInteger>(_ bits: UnsafeBufferPointer<Bits>, mask: Bits) -> Int {
    let count = bits.count
    guard count > 0 else { return 0 }
    let runs = max(1, min(Threads.count, count / (1 << 18)))
    var counts = [Int](repeating: 0, count: runs)
    counts.withUnsafeMutableBufferPointer { counts in
        let counts = UncheckedSendable(counts)
        parallelFor(runs) { range in
            for run in range {
                var n = 0
                for i in count * run / runs ..< count * (run + 1) / runs where bits[i] & mask == mask { n += 1 }
                counts.value[run] = n
            }
        }
    }
    return counts.reduce(0, +)
}
