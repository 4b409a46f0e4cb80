import CPUProbe
import Foundation

/// What this x86-64 CPU can run, decoded from CPUID and XCR0 (an instruction set counts only when
/// the operating system also saves its registers).
///
/// Decoding is separate from probing so that tests can feed it registers recorded on other CPUs.
public struct CPUFeatures: Sendable, Equatable {
    /// The registers decoding reads: CPUID leaves 0, 1, 7.0 and 7.1, the brand string
    /// (leaves 0x8000_0002…4, as text) and XCR0.
    public struct Registers: Sendable, Equatable {
        public var leaf0: Leaf
        public var leaf1: Leaf
        public var leaf7: Leaf
        public var leaf7Subleaf1: Leaf
        public var xcr0: UInt64
        public var brand: String

        /// EAX, EBX, ECX and EDX of one CPUID leaf.
        public struct Leaf: Sendable, Equatable {
            public var eax, ebx, ecx, edx: UInt32
            public init(_ eax: UInt32, _ ebx: UInt32, _ ecx: UInt32, _ edx: UInt32) {
                (self.eax, self.ebx, self.ecx, self.edx) = (eax, ebx, ecx, edx)
            }
            init(_ r: imagine_cpuid_registers) { self.init(r.eax, r.ebx, r.ecx, r.edx) }
            static let zero = Leaf(0, 0, 0, 0)
        }

        public init(leaf0: Leaf, leaf1: Leaf, leaf7: Leaf, leaf7Subleaf1: Leaf, xcr0: UInt64, brand: String) {
            self.leaf0 = leaf0
            self.leaf1 = leaf1
            self.leaf7 = leaf7
            self.leaf7Subleaf1 = leaf7Subleaf1
            self.xcr0 = xcr0
            self.brand = brand
        }

        /// This CPU's.
        public static func probe() -> Registers {
            let leaf0 = Leaf(imagine_cpuid(0, 0))
            let maxLeaf = leaf0.eax
            let leaf7 = maxLeaf >= 7 ? Leaf(imagine_cpuid(7, 0)) : .zero
            // Subleaf 1 exists when subleaf 0's EAX says so.
            let leaf7Subleaf1 = maxLeaf >= 7 && leaf7.eax >= 1 ? Leaf(imagine_cpuid(7, 1)) : .zero
            var brandBytes: [UInt8] = []
            if imagine_cpuid(0x8000_0000, 0).eax >= 0x8000_0004 {
                for leaf: UInt32 in 0x8000_0002...0x8000_0004 {
                    let r = imagine_cpuid(leaf, 0)
                    for word in [r.eax, r.ebx, r.ecx, r.edx] {
                        for shift in stride(from: 0, to: 32, by: 8) { brandBytes.append(UInt8(truncatingIfNeeded: word >> shift)) }
                    }
                }
            }
            let brand = String(decoding: brandBytes.prefix { $0 != 0 }, as: UTF8.self)
            return Registers(leaf0: leaf0, leaf1: maxLeaf >= 1 ? Leaf(imagine_cpuid(1, 0)) : .zero, leaf7: leaf7,
                             leaf7Subleaf1: leaf7Subleaf1, xcr0: imagine_xcr0(), brand: brand)
        }
    }

    /// "GenuineIntel", "AuthenticAMD", …; empty off x86-64.
    public let vendor: String
    /// The brand string with runs of spaces collapsed ("AMD EPYC 9R14 96-Core Processor").
    public let brand: String
    /// Family and model as the vendors number them (extended fields folded in): Emerald Rapids is
    /// family 6 model 207, Zen 4 family 25.
    public let family: Int
    public let model: Int
    public let stepping: Int

    public let avx: Bool
    public let fma: Bool
    public let f16c: Bool
    public let avx2: Bool
    /// AVX-512 Foundation with DQ, BW and VL: what compilers' Skylake-server code and OpenBLAS's
    /// SkylakeX kernels use.
    public private(set) var avx512: Bool
    public private(set) var avx512BF16: Bool
    /// Advanced Matrix Extensions with bf16 tiles, usable (the OS enables tile state).
    public private(set) var amxBF16: Bool
    /// True when `IMAGINE_DISABLE_AVX512` turned the CPU's AVX-512 off for this process.
    public private(set) var avx512Disabled = false

    public init(_ r: Registers) {
        func bit(_ word: UInt32, _ n: Int) -> Bool { (word >> UInt32(n)) & 1 == 1 }
        vendor = String(decoding: [r.leaf0.ebx, r.leaf0.edx, r.leaf0.ecx].flatMap { word in
            (0..<4).map { UInt8(truncatingIfNeeded: word >> UInt32(8 * $0)) }
        }.filter { $0 != 0 }, as: UTF8.self)
        brand = r.brand.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")

        let signature = r.leaf1.eax
        let baseFamily = Int(signature >> 8 & 0xF), baseModel = Int(signature >> 4 & 0xF)
        family = baseFamily == 0xF ? baseFamily + Int(signature >> 20 & 0xFF) : baseFamily
        model = baseFamily == 0x6 || baseFamily == 0xF ? Int(signature >> 16 & 0xF) << 4 | baseModel : baseModel
        stepping = Int(signature & 0xF)

        // XCR0: bit 1 SSE, 2 AVX (upper ymm halves), 5–7 AVX-512 (opmask, upper zmm halves,
        // zmm16–31), 17–18 AMX tiles.
        let osSavesYMM = r.xcr0 & 0x6 == 0x6
        let osSavesZMM = osSavesYMM && r.xcr0 & 0xE0 == 0xE0
        let osSavesTiles = r.xcr0 & 0x6_0000 == 0x6_0000
        avx = bit(r.leaf1.ecx, 28) && osSavesYMM
        fma = avx && bit(r.leaf1.ecx, 12)
        f16c = avx && bit(r.leaf1.ecx, 29)
        avx2 = avx && bit(r.leaf7.ebx, 5)
        avx512 = osSavesZMM && bit(r.leaf7.ebx, 16) && bit(r.leaf7.ebx, 17) && bit(r.leaf7.ebx, 30) && bit(r.leaf7.ebx, 31)
        avx512BF16 = avx512 && bit(r.leaf7Subleaf1.eax, 5)
        amxBF16 = osSavesTiles && bit(r.leaf7.edx, 22) && bit(r.leaf7.edx, 24)
    }

    /// This CPU's, less AVX-512 when `IMAGINE_DISABLE_AVX512` is set to anything but "0" or "":
    /// the switch lets an AVX-512 machine run what an AVX2-only one (most laptops) runs — OpenBLAS's
    /// Haswell kernels and fp32 — to measure and test that path. (Our own Swift code is compiled
    /// for the build's target CPU; build with IMAGINE_TARGET_CPU=haswell as well to rule it out.)
    public static let current: CPUFeatures = {
        let features = CPUFeatures(.probe())
        let switchValue = ProcessInfo.processInfo.environment["IMAGINE_DISABLE_AVX512"] ?? ""
        return switchValue.isEmpty || switchValue == "0" ? features : features.withoutAVX512
    }()

    /// The same CPU as one without AVX-512 (and so without its bf16 dot products or AMX) would be.
    public var withoutAVX512: CPUFeatures {
        var copy = self
        copy.avx512 = false
        copy.avx512BF16 = false
        copy.amxBF16 = false
        copy.avx512Disabled = true
        return copy
    }

    /// The widest vector instruction sets, as a person reads them ("AVX-512 BF16", "AVX2 FMA", …).
    public var summary: String {
        var parts: [String] = []
        if avx512 { parts.append(avx512BF16 ? "AVX-512 BF16" : "AVX-512") } else if avx2 {
            parts.append(fma ? "AVX2 FMA" : "AVX2")
        } else if avx { parts.append("AVX") } else { parts.append("SSE") }
        if amxBF16 { parts.append("AMX") }
        if avx512Disabled { parts.append("AVX-512 disabled") }
        return parts.joined(separator: ", ")
    }

    /// "AMD EPYC 9R14 … (family 25 model 17; AVX-512 BF16)".
    public var description: String {
        let name = brand.isEmpty ? (vendor.isEmpty ? "unknown CPU" : vendor) : brand
        return "\(name) (family \(family) model \(model); \(summary))"
    }
}
