import Testing
import Kernels

/// Decoding CPUID, and the OpenBLAS kernel family chosen from it, on registers of CPUs other than
/// the one the tests run on.
///
/// The Zen 4 registers were read off an AMD EPYC (Zen 4) with CPUID; the others are built from the
/// feature bits the vendors document for those CPUs (Intel SDM vol. 2 CPUID, AMD APM vol. 3), bit
/// by bit below, with the family/model signatures those parts report.
struct CPUFeaturesTests {
    typealias Leaf = CPUFeatures.Registers.Leaf

    static func bits(_ positions: Int...) -> UInt32 { positions.reduce(0) { $0 | 1 << UInt32($1) } }

    static let intel = Leaf(0x20, 0x756E_6547, 0x6C65_746E, 0x4965_6E69)  // "GenuineIntel"
    static let amd = Leaf(0x10, 0x6874_7541, 0x444D_4163, 0x6974_6E65)  // "AuthenticAMD"
    // CPUID.1:ECX: SSE3 0, SSSE3 9, FMA 12, SSE4.1 19, SSE4.2 20, OSXSAVE 27, AVX 28, F16C 29.
    static let modernLeaf1ECX = bits(0, 9, 12, 19, 20, 26, 27, 28, 29)
    // CPUID.7.0:EBX: AVX2 5, AVX512F 16, AVX512DQ 17, AVX512BW 30, AVX512VL 31.
    static let avx512EBX = bits(3, 5, 8, 16, 17, 30, 31)
    // XCR0: x87 0, SSE 1, AVX 2, opmask 5, ZMM_Hi256 6, Hi16_ZMM 7.
    static let xcr0AVX512: UInt64 = 0xE7

    /// Read off this session's AMD EPYC (Zen 4), family 25 model 17.
    static let zen4 = CPUFeatures.Registers(
        leaf0: Leaf(0x1C, 0x6874_7541, 0x444D_4163, 0x6974_6E65),
        leaf1: Leaf(0x00A1_0F11, 0x0002_0800, 0xFFFA_3203, 0x178B_FBFF),
        leaf7: Leaf(0x1, 0xF1BF_07AB, 0x0040_5FC6, 0x10),
        leaf7Subleaf1: Leaf(0x20, 0, 0, 0),
        xcr0: 0xE7, brand: "AMD EPYC")
    /// Zen 5 (Ryzen 9000, family 26 model 68): AVX-512 with BF16 and AVX-VNNI (CPUID.7.1:EAX 4, 5).
    static let zen5 = CPUFeatures.Registers(
        leaf0: amd, leaf1: Leaf(0x00B4_0F40, 0, modernLeaf1ECX, 0), leaf7: Leaf(1, avx512EBX, 0, 0),
        leaf7Subleaf1: Leaf(bits(4, 5), 0, 0, 0), xcr0: xcr0AVX512 | 0x200,
        brand: "AMD Ryzen 9 9950X 16-Core Processor")
    /// Emerald Rapids (Xeon 5th gen, family 6 model 207) in a VM that reports AMX
    /// (CPUID.7.0:EDX AMX-BF16 22, AMX-TILE 24) but does not enable its tile state in XCR0.
    static let emeraldRapids = CPUFeatures.Registers(
        leaf0: intel, leaf1: Leaf(0x000C_06F2, 0, modernLeaf1ECX | bits(31), 0),
        leaf7: Leaf(1, avx512EBX, 0, bits(22, 24, 25)), leaf7Subleaf1: Leaf(bits(4, 5), 0, 0, 0),
        xcr0: xcr0AVX512, brand: "INTEL(R) XEON(R) PLATINUM 8581C")
    /// Haswell (Core i7-4770, family 6 model 60): AVX2 and FMA, no AVX-512, no leaf 7.1.
    static let haswell = CPUFeatures.Registers(
        leaf0: Leaf(0xD, 0x756E_6547, 0x6C65_746E, 0x4965_6E69), leaf1: Leaf(0x0003_06C3, 0, modernLeaf1ECX, 0),
        leaf7: Leaf(0, bits(0, 3, 5, 7, 8, 9), 0, 0), leaf7Subleaf1: Leaf(0, 0, 0, 0),
        xcr0: 0x7, brand: "Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz")
    /// A Core 2 (family 6 model 23): SSE4.1, no AVX, no XSAVE enabled.
    static let core2 = CPUFeatures.Registers(
        leaf0: Leaf(0xD, 0x756E_6547, 0x6C65_746E, 0x4965_6E69), leaf1: Leaf(0x0001_067A, 0, bits(0, 9, 19), 0),
        leaf7: Leaf(0, 0, 0, 0), leaf7Subleaf1: Leaf(0, 0, 0, 0), xcr0: 0, brand: "Intel(R) Core(TM)2 Duo CPU E8400")

    @Test func decodesVendorFamilyModelAndVectorSets() {
        let zen4 = CPUFeatures(Self.zen4)
        #expect(zen4.vendor == "AuthenticAMD")
        #expect((zen4.family, zen4.model, zen4.stepping) == (25, 17, 1))
        #expect(zen4.avx2 && zen4.fma && zen4.f16c && zen4.avx512 && zen4.avx512BF16 && !zen4.amxBF16)

        let zen5 = CPUFeatures(Self.zen5)
        #expect((zen5.family, zen5.model) == (26, 68))
        #expect(zen5.avx512BF16)

        let emerald = CPUFeatures(Self.emeraldRapids)
        #expect(emerald.vendor == "GenuineIntel")
        #expect((emerald.family, emerald.model, emerald.stepping) == (6, 207, 2))
        #expect(emerald.avx512BF16 && !emerald.amxBF16, "AMX reported but its state not enabled")

        let haswell = CPUFeatures(Self.haswell)
        #expect((haswell.family, haswell.model) == (6, 60))
        #expect(haswell.avx2 && haswell.fma && haswell.f16c && !haswell.avx512 && !haswell.avx512BF16)
        #expect(haswell.summary == "AVX2 FMA")

        let core2 = CPUFeatures(Self.core2)
        #expect((core2.family, core2.model) == (6, 23))
        #expect(!core2.avx && !core2.avx2 && !core2.avx512)
        #expect(core2.summary == "SSE")
    }

    @Test func vectorSetsCountOnlyWhenTheOperatingSystemSavesTheirRegisters() {
        var registers = Self.emeraldRapids
        registers.xcr0 = 0x7  // AVX state only: zmm registers would not survive a context switch
        let features = CPUFeatures(registers)
        #expect(features.avx2 && !features.avx512 && !features.avx512BF16)
        #expect(BLASKernels.best(for: features) == "Haswell")
        registers.xcr0 = 0x3  // not even the upper ymm halves
        #expect(!CPUFeatures(registers).avx && BLASKernels.best(for: CPUFeatures(registers)) == nil)
    }

    @Test func aGenericKernelIsReplacedByTheWidestTheCPURuns() {
        func preferred(_ registers: CPUFeatures.Registers, reported: String,
                       environment: [String: String] = [:]) -> String? {
            BLASKernels.preferredCoreType(reported: reported, features: CPUFeatures(registers), environment: environment)
        }
        // What Debian 12's OpenBLAS 0.3.21 reported on each: Zen 4 it knows (as Cooperlake);
        // Emerald Rapids it does not, and falls back to Prescott (SSE3).
        #expect(preferred(Self.zen4, reported: "Cooperlake") == nil)
        #expect(preferred(Self.emeraldRapids, reported: "Prescott") == "SkylakeX")
        #expect(preferred(Self.zen5, reported: "Prescott") == "SkylakeX")
        #expect(preferred(Self.zen5, reported: "Zen") == "SkylakeX", "AVX2 kernels on an AVX-512 CPU")
        #expect(preferred(Self.haswell, reported: "Haswell") == nil)
        #expect(preferred(Self.haswell, reported: "Nehalem") == "Haswell")
        #expect(preferred(Self.core2, reported: "Core2") == nil, "no AVX: OpenBLAS's choice stands")
        // A person's own OPENBLAS_CORETYPE stands, and so does the one a re-executed process got.
        #expect(preferred(Self.emeraldRapids, reported: "Prescott", environment: ["OPENBLAS_CORETYPE": "Haswell"]) == nil)
    }

    @Test func switchingAVX512OffLeavesWhatAnAVX2MachineRuns() {
        let zen4 = CPUFeatures(Self.zen4).withoutAVX512
        #expect(zen4.avx2 && zen4.fma && zen4.f16c && !zen4.avx512 && !zen4.avx512BF16 && !zen4.amxBF16)
        #expect(zen4.summary == "AVX2 FMA, AVX-512 disabled")
        // OpenBLAS detected the AVX-512 kernels; the switched-off CPU gets the AVX2 ones.
        #expect(BLASKernels.preferredCoreType(reported: "Cooperlake", features: zen4, environment: [:]) == "Haswell")
        #expect(BLASKernels.preferredCoreType(reported: "Zen", features: zen4, environment: [:]) == nil)
    }
}
