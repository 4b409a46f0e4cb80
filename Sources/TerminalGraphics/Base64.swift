/// Standard base64 (RFC 4648, with padding) straight into bytes: pictures are sent as megabytes of
/// it, and going through Foundation's Data and String would copy them twice more.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        let count = bytes.count
        var out = [UInt8](repeating: 0x3D, count: (count + 2) / 3 * 4)  // "=" where padding stays
        bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                alphabet.withUnsafeBufferPointer { table in
                    var i = 0, o = 0
                    while i + 3 <= count {
                        let v = Int(input[i]) << 16 | Int(input[i + 1]) << 8 | Int(input[i + 2])
                        output[o] = table[v >> 18]
                        output[o + 1] = table[(v >> 12) & 63]
                        output[o + 2] = table[(v >> 6) & 63]
                        output[o + 3] = table[v & 63]
                        i += 3
                        o += 4
                    }
                    let left = count - i
                    if left > 0 {
                        let v = Int(input[i]) << 16 | (left == 2 ? Int(input[i + 1]) << 8 : 0)
                        output[o] = table[v >> 18]
                        output[o + 1] = table[(v >> 12) & 63]
                        if left == 2 { output[o + 2] = table[(v >> 6) & 63] }
                    }
                }
            }
        }
        return out
    }
}
