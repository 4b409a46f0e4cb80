import Foundation
import Kernels
import Models
import Testing

/// TorchGenerator against torch.randn on the fixtures of Tests/Fixtures/make_sampler_fixtures.py:
/// every value bit-identical.
@Suite struct TorchRandomTests {
    struct Fixture: Decodable {
        struct Case: Decodable { let seed: String; let shapes: [[Int]]; let keys: [String] }
        struct Summary: Decodable {
            let seed: String; let shape: [Int]; let first: [Float]; let last: [Float]; let sum: Double
        }
        let cases: [Case]
        let summaries: [Summary]
    }

    static let fixture: Fixture = try! JSONDecoder().decode(
        Fixture.self, from: Data(contentsOf: FixturePaths.url("samplers/torch_randn.json")))
    static let tensors = try! SafetensorsFile(url: FixturePaths.url("samplers/torch_randn.safetensors"))

    /// Indices where the bit patterns differ (so −0 and +0 count as different).
    static func mismatches(_ actual: [Float], _ expected: [Float]) -> [Int] {
        zip(actual, expected).enumerated().filter { $0.1.0.bitPattern != $0.1.1.bitPattern }.map(\.offset)
    }

    @Test func everyDrawMatchesTorchBitForBit() throws {
        for c in Self.fixture.cases {
            var generator = TorchGenerator(seed: UInt64(c.seed)!)
            for (shape, key) in zip(c.shapes, c.keys) {
                let actual = generator.randn(shape)
                let expected = try Self.tensors.tensor(key)
                #expect(actual.shape == shape)
                let bad = Self.mismatches(actual.data, expected.data)
                #expect(bad.isEmpty, "\(key) \(shape): \(bad.count) values differ, first at \(bad.first ?? -1): \(bad.first.map { "\(actual.data[$0]) vs \(expected.data[$0])" } ?? "")")
            }
        }
    }

    @Test func largeTensorsMatchAtBothEndsAndInSum() {
        for s in Self.fixture.summaries {
            var generator = TorchGenerator(seed: UInt64(s.seed)!)
            let values = generator.randn(s.shape).data
            #expect(Self.mismatches(Array(values.prefix(64)), s.first).isEmpty, "seed \(s.seed) first 64")
            #expect(Self.mismatches(Array(values.suffix(64)), s.last).isEmpty, "seed \(s.seed) last 64")
            let sum = values.reduce(0.0) { $0 + Double($1) }
            #expect(abs(sum - s.sum) <= 1e-9 * max(1, abs(s.sum)), "seed \(s.seed) sum \(sum) vs \(s.sum)")
        }
    }
}
