import Foundation
import Kernels
import Models
import Testing

/// CLIPTextModel against transformers on the fixtures of Tests/Fixtures/make_clip_fixtures.py.
/// Tolerance: max |Δ| ≤ 1e-4 · max |reference| on every hidden state, room for fp32 sums taken in
/// another order than PyTorch's and far below what a wrong weight or mask would cost.
@Suite struct CLIPTextModelTests {
    struct Case {
        let model: CLIPTextModel
        let ids: [[Int32]]
        let expected: SafetensorsFile
    }

    static func load(_ name: String, weightsFile: String = "model.safetensors") throws -> Case {
        let folder = FixturePaths.url("clip/\(name)")
        let config = try CLIPTextConfig(contentsOf: folder.appendingPathComponent("config.json"))
        let weights = try SafetensorsFile(url: folder.appendingPathComponent(weightsFile))
        let model = try CLIPTextModel(Weights(weights), config: config)
        let inputs = try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("inputs.json"))) as! [String: Any]
        let ids = (inputs["ids"] as! [[Int]]).map { $0.map(Int32.init) }
        let expected = try SafetensorsFile(url: folder.appendingPathComponent("expected.safetensors"))
        return Case(model: model, ids: ids, expected: expected)
    }

    /// max |actual − reference| / max |reference|
    static func relativeError(_ actual: Tensor, _ reference: Tensor) -> Float {
        #expect(actual.shape == reference.shape)
        var worst: Float = 0
        for (a, r) in zip(actual.data, reference.data) { worst = max(worst, abs(a - r)) }
        return worst / reference.maxAbs
    }

    @Test(arguments: ["sd15-tiny", "sd21-tiny", "eos-id-tiny"])
    func everyHiddenStateMatchesTransformers(name: String) throws {
        let c = try Self.load(name)
        let output = c.model(c.ids)
        #expect(output.hiddenStates.count == c.model.config.layers + 1)
        for (i, state) in output.hiddenStates.enumerated() {
            let error = Self.relativeError(state, try c.expected.tensor("hidden_state_\(i)"))
            #expect(error <= 1e-4, "\(name) hidden state \(i): relative error \(error)")
        }
        let last = Self.relativeError(output.lastHiddenState, try c.expected.tensor("last_hidden_state"))
        #expect(last <= 1e-4, "\(name) last hidden state: relative error \(last)")
        let pooled = Self.relativeError(output.pooled, try c.expected.tensor("pooled"))
        #expect(pooled <= 1e-4, "\(name) pooled: relative error \(pooled)")
    }

    @Test func prefixedAndUnprefixedKeyLayoutsGiveIdenticalOutputs() throws {
        let plain = try Self.load("sd15-tiny")
        let prefixed = try Self.load("sd15-tiny", weightsFile: "prefixed/model.safetensors")
        #expect(plain.model(plain.ids).lastHiddenState == prefixed.model(plain.ids).lastHiddenState)
    }

    @Test func clipSkipStopsEarlyAndNormalisesThatLayer() throws {
        let c = try Self.load("sd21-tiny")
        let full = c.model(c.ids)
        let skipped = c.model(c.ids, layers: c.model.config.layers - 1)
        #expect(skipped.hiddenStates.count == c.model.config.layers)
        #expect(skipped.hiddenStates.last == full.hiddenStates[c.model.config.layers - 1])
        #expect(skipped.lastHiddenState != full.lastHiddenState)
    }

    @Test func repeatedRunsAreBitIdenticalAndBatchingChangesNothingVisible() throws {
        let c = try Self.load("sd15-tiny")
        let batched = c.model(c.ids).lastHiddenState
        let again = c.model(c.ids).lastHiddenState
        let identical = batched == again
        #expect(identical)
        // BLAS may block a 1-row-prompt GEMM differently from a 3-prompt one: equal to rounding.
        let single = c.model([c.ids[1]]).lastHiddenState
        let slice = Tensor(shape: single.shape, data: Array(batched.data[single.count ..< 2 * single.count]))
        #expect(Self.relativeError(single, slice) < 1e-6)
    }

    @Test func aMissingTensorIsNamedInTheError() throws {
        let folder = FixturePaths.url("clip/sd15-tiny")
        var config = try CLIPTextConfig(contentsOf: folder.appendingPathComponent("config.json"))
        config.layers += 1  // asks for a layer the file does not have
        let weights = try SafetensorsFile(url: folder.appendingPathComponent("model.safetensors"))
        #expect {
            _ = try CLIPTextModel(Weights(weights), config: config)
        } throws: { error in
            "\(error)".contains("encoder.layers.3.") && "\(error)".contains("missing")
                && "\(error)".contains("model.safetensors")
        }
    }

    @Test func aMismatchedConfigIsAShapeErrorWithNumbers() throws {
        let folder = FixturePaths.url("clip/sd15-tiny")
        var config = try CLIPTextConfig(contentsOf: folder.appendingPathComponent("config.json"))
        config.intermediateSize = 100
        let weights = try SafetensorsFile(url: folder.appendingPathComponent("model.safetensors"))
        #expect {
            _ = try CLIPTextModel(Weights(weights), config: config)
        } throws: { error in
            "\(error)".contains("mlp.fc1.weight") && "\(error)".contains("[256, 64]")
                && "\(error)".contains("[100, 64]")
        }
    }
}
