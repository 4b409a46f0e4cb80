import Foundation
import Kernels
@testable import Models
import Testing

/// The one validation every request goes through (`Pipeline.validate`), the memory rule, and the
/// non-finite checks: weights as they load, latents per step, pixels before they leave.
@Suite struct RequestValidationTests {
    static let model = PipelineTests.model

    @Test func thousandsOfRandomRequestsAreJudgedWithoutATrap() throws {
        let pipeline = Pipeline(model: try Self.model.get())
        var state: UInt64 = 99
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let sizes = [Int.min, -8, 0, 1, 7, 8, 9, 64, 1000, 4096, 65536, 100_000, 1 << 31, Int.max - 7, Int.max]
        let steps = [Int.min, -1, 0, 1, 2, 999, 1000, 1001, Int.max]
        let scales: [Float] = [.nan, .infinity, -.infinity, -1e30, -5, 0, 1, 7.5, 1e30, .greatestFiniteMagnitude]
        var accepted = 0
        for _ in 0 ..< 20_000 {
            var request = GenerationRequest(prompt: "fuzz")
            request.width = sizes[Int(next() % UInt64(sizes.count))]
            request.height = sizes[Int(next() % UInt64(sizes.count))]
            request.steps = steps[Int(next() % UInt64(steps.count))]
            request.guidanceScale = scales[Int(next() % UInt64(scales.count))]
            request.decoder = DecoderKind.allCases[Int(next() % 3)]
            request.seed = next()
            do {
                try pipeline.validate(request, memoryLimit: 1e9)
                accepted += 1
                #expect(request.width > 0 && request.width % 8 == 0 && request.height > 0 && request.height % 8 == 0)
                #expect((1...1000).contains(request.steps) && request.guidanceScale.isFinite && request.decoder != .tiny)
                #expect(pipeline.workingMemory(request).bytes <= 1e9)
            } catch let error as GenerationError {
                #expect(!error.description.isEmpty)
            }
        }
        #expect(accepted > 100)
    }

    @Test func memoryRuleRefusesWithTheNumbers() throws {
        let pipeline = Pipeline(model: try Self.model.get())
        var request = GenerationRequest(prompt: "big")
        request.width = 100_000
        request.height = 100_000
        let error = try #require(throws: GenerationError.self) { try pipeline.validate(request) }
        #expect(error.description.contains("100000×100000 image needs about"), "\(error)")
        #expect(error.description.contains("more than this machine's"), "\(error)")
        request.width = 64
        request.height = 64
        try pipeline.validate(request)
        // The estimate grows with the pixels: 4× the area, 4× the bytes (within the U-Net's share).
        let small = pipeline.workingMemory(request).bytes
        request.width = 128
        request.height = 128
        #expect(abs(pipeline.workingMemory(request).bytes / small - 4) < 0.01)
    }

    @Test func nonFiniteLatentsStopTheRenderAtTheStep() throws {
        let pipeline = Pipeline(model: try Self.model.get())
        var request = GenerationRequest(prompt: "nan")
        request.width = 64
        request.height = 64
        request.steps = 3
        var noise = Tensor(zeros: [1, pipeline.model.unetConfig.inChannels, 8, 8])
        noise.data[5] = .nan
        let error = try #require(throws: GenerationError.self) { try pipeline.generate(request, initialNoise: noise) }
        #expect(error.description.contains("step 1 of 3 gave NaN or infinite latents"), "\(error)")
    }

    @Test func nonFiniteWeightsAreRefusedAsTheyLoadNamingTheTensor() throws {
        for (value, dtype) in [(Float.nan, "F32"), (Float.infinity, "F32"), (Float.nan, "BF16"), (-Float.infinity, "F16")] {
            let file = try safetensors(dtype: dtype, values: [1, 2, value, 4])
            let error = try #require(throws: SafetensorsError.self) { try file.tensor("t") }
            #expect(error.description == "w.safetensors: tensor 't': 1 of 4 values are NaN or infinite; the weights are corrupt",
                    "\(dtype) \(value)")
            #expect(throws: SafetensorsError.self) { try file.matrix("t", precision: .bf16, use: .linear) }
            #expect(throws: SafetensorsError.self) { try file.matrix("t", precision: .fp32, use: .linear) }
            let finite = try safetensors(dtype: dtype, values: [1, 2, 3, 4])
            #expect(try finite.tensor("t").data == [1, 2, 3, 4])
            // Asked to, fp32 keeps an F16 weight as fp16, which widens to the values `tensor` gives.
            #expect(throws: SafetensorsError.self) { try file.matrix("t", precision: .fp32, use: .linear, keepingFP16: true) }
            let matrix = try finite.matrix("t", precision: .fp32, use: .linear, keepingFP16: true)
            #expect(matrix.floats == [1, 2, 3, 4] && matrix.shape == [2, 2])
            if case .fp16 = matrix { #expect(dtype == "F16") } else { #expect(dtype != "F16") }
        }
        // Values beyond fp32 (F64 1e300) become infinite when converted: refused too.
        let wide = try safetensors(dtype: "F64", values: [1, 2, 3, 4], f64Override: 1e300)
        #expect(throws: SafetensorsError.self) { try wide.tensor("t") }
    }

    @Test func nonFiniteCountIsExactOnLargeBuffers() {
        var values = [Float](repeating: 1, count: 3_000_001)
        for i in stride(from: 0, to: values.count, by: 100_003) { values[i] = i % 2 == 0 ? .nan : -.infinity }
        values[values.count - 1] = .infinity
        #expect(values.withUnsafeBufferPointer(nonFiniteCount) == 31)
        #expect(!Tensor(shape: [values.count], data: values).isFinite)
        #expect(Tensor(shape: [0], data: []).isFinite)
    }
}

/// A one-tensor safetensors file `t` [2, 2] in `dtype` (F32, F16, BF16, F64), opened from memory.
private func safetensors(dtype: String, values: [Float], f64Override: Double? = nil) throws -> SafetensorsFile {
    var data: [UInt8] = []
    for value in values {
        switch dtype {
        case "F16": withUnsafeBytes(of: Float16(value).bitPattern.littleEndian) { data += $0 }
        case "BF16": withUnsafeBytes(of: UInt16(value.bitPattern >> 16).littleEndian) { data += $0 }
        case "F64": withUnsafeBytes(of: (f64Override ?? Double(value)).bitPattern.littleEndian) { data += $0 }
        default: withUnsafeBytes(of: value.bitPattern.littleEndian) { data += $0 }
        }
    }
    var header = Array(#"{"t":{"dtype":"\#(dtype)","shape":[2,2],"data_offsets":[0,\#(data.count)]}}"#.utf8)
    while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
    let bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header + data
    return try bytes.withUnsafeBytes { try SafetensorsFile(bytes: $0, name: "w.safetensors") }
}
