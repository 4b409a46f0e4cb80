import Foundation
import Kernels

/// Writes fp32 tensors as a safetensors file (for tests and for `imagine bench --save-output`),
/// atomically: a reader never sees a half-written file.
public enum SafetensorsWriter {
    public static func write(_ tensors: [(name: String, tensor: Tensor)], to url: URL) throws {
        var header: [String: Any] = [:]
        var offset = 0
        for (name, tensor) in tensors {
            let size = tensor.count * MemoryLayout<Float>.size
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + size]]
            offset += size
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header so the data section starts 8-byte aligned, as the reference writer does.
        while (8 + json.count) % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var file = Data()
        var length = UInt64(json.count).littleEndian
        file.append(Data(bytes: &length, count: 8))
        file.append(json)
        for (_, tensor) in tensors {
            tensor.data.withUnsafeBytes { file.append(contentsOf: $0) }
        }
        try file.write(to: url, options: .atomic)
    }
}
