import Dispatch

/// How much faster the bf16 path multiplies than fp32 on this CPU, measured.
///
/// Having AVX512-BF16 does not make bf16 faster: on Zen 4 its products run 2–2.7× faster than
/// fp32, while on an Emerald Rapids Xeon without AMX a U-Net step ran slower in bf16 than in fp32
/// (the dot-product instruction brings no more multiplies per cycle there). So the choice is
/// measured, on the linear layers that bf16 changes, at the threads the models will run on.
public enum PrecisionCalibration {
    /// Linear-layer shapes [rows, in, out] like the models': a 16×16-latent U-Net's projections
    /// and feed-forward (imagine-mini's live preview) and a 64×64-latent one's (SD at 512²).
    static let shapes: [(rows: Int, inFeatures: Int, outFeatures: Int)] = [
        (256, 128, 1024), (256, 512, 128), (4096, 320, 320), (4096, 320, 2560),
    ]

    /// Median fp32 time ÷ median bf16 time, summed over `shapes` (so larger layers weigh more, as
    /// they do in a render); nil when this CPU cannot run bf16. About a second (measured 1.1 s on a 2-core Zen 4).
    public static func bf16Speedup(runs: Int = 5) -> Double? {
        guard Precision.bf16Available else { return nil }
        var generator = SplitMix64(seed: 0x5EED)
        var fp32Total = 0.0, bf16Total = 0.0
        for shape in shapes {
            let x = Tensor(shape: [shape.rows, shape.inFeatures],
                           data: (0..<shape.rows * shape.inFeatures).map { _ in Float.random(in: -1...1, using: &generator) })
            let w = Tensor(shape: [shape.outFeatures, shape.inFeatures],
                           data: (0..<shape.outFeatures * shape.inFeatures).map { _ in Float.random(in: -1...1, using: &generator) })
            let fp32 = WeightMatrix(w, precision: .fp32, use: .linear)
            let bf16 = WeightMatrix(w, precision: .bf16, use: .linear)
            var fp32Times: [Double] = [], bf16Times: [Double] = []
            // One untimed round warms caches and threads; then the two alternate, so a burst of
            // load from elsewhere on the machine hits both.
            for round in 0...runs {
                let fp32Seconds = time { _ = linear(x, weight: fp32, bias: nil) }
                let bf16Seconds = time { _ = linear(x, weight: bf16, bias: nil) }
                if round > 0 {
                    fp32Times.append(fp32Seconds)
                    bf16Times.append(bf16Seconds)
                }
            }
            fp32Total += median(fp32Times)
            bf16Total += median(bf16Times)
        }
        return fp32Total / bf16Total
    }

    /// The least speed-up for which `auto` takes bf16: below it, bf16's rounding (pictures
    /// ~52–56 dB from fp32) buys too little.
    public static let bf16Threshold = 1.15

    private static func time(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}
