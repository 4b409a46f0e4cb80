// swift-tools-version:6.0
import Foundation
import PackageDescription

// The build targets the CPU it runs on: measured, SIMD kernels run ~2.5× faster and fp16→fp32
// conversion is one instruction instead of a library call. Set IMAGINE_TARGET_CPU to a
// CPU name (`znver3`, `haswell`, `neoverse-n1`) to build for another machine, or to `generic` for
// the toolchain's baseline (x86-64 SSE2) when the binary must run anywhere.
let targetCPU = ProcessInfo.processInfo.environment["IMAGINE_TARGET_CPU"] ?? "native"
let cpuSwiftFlags: [SwiftSetting] =
    targetCPU == "generic" ? [] : [.unsafeFlags(["-target-cpu", targetCPU])]
// No -Ounchecked: measured, it gains nothing for pointer kernels, and preconditions must keep
// guarding against bad input in release builds.
let swiftSettings: [SwiftSetting] = cpuSwiftFlags

let package = Package(
    name: "Imagine",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "imagine", targets: ["imagine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, libpng-dev, libjpeg62-turbo-dev, libncursesw5-dev, libchafa-dev).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        // No pkg-config for ncursesw: it only adds -D flags, which SwiftPM drops with a warning;
        // the module map links the libraries and shim.h switches on the wide-character API.
        .systemLibrary(name: "CCurses", providers: [.apt(["libncursesw5-dev"])]),
        .systemLibrary(name: "CChafa", pkgConfig: "chafa", providers: [.apt(["libchafa-dev", "libglib2.0-dev"])]),

        // fp32 tensors and the kernels models are made of; knows nothing of models or files.
        // The bf16 GEMM (AVX512-BF16 intrinsics, chosen at run time) lives in C: Swift cannot
        // name the bf16 vector types the dot-product instruction takes.
        .target(name: "CBFloat16GEMM", path: "Sources/CBFloat16GEMM"),
        // CPUID and XGETBV (inline assembly); Kernels decodes what they return.
        .target(name: "CPUProbe", path: "Sources/CPUProbe"),
        .target(name: "Kernels", dependencies: ["CBLAS", "CBFloat16GEMM", "CPUProbe"], swiftSettings: swiftSettings),
        // Tokenizer, weights, the shared transformer core and the models built from it.
        .target(name: "Models", dependencies: ["Kernels"], swiftSettings: swiftSettings),
        // The type-as-you-go session (debounce, latest-wins renders, refine on pause); no terminal.
        .target(name: "Live", dependencies: ["Models"], swiftSettings: swiftSettings),
        // Pictures in the terminal: kitty, sixel and iTerm2 images, character-cell art (libchafa),
        // and detecting which the terminal speaks.
        .target(name: "TerminalGraphics", dependencies: ["CChafa", "ImageIO"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "imagine",
            dependencies: [
                "Models",
                "ImageIO",
                "Live",
                "TerminalGraphics",
                "CCurses",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),

        .testTarget(name: "KernelsTests", dependencies: ["Kernels"], swiftSettings: swiftSettings),
        .testTarget(name: "ModelsTests", dependencies: ["Models"], swiftSettings: swiftSettings),
        .testTarget(name: "LiveTests", dependencies: ["Live"], swiftSettings: swiftSettings),
        // Runs the built `imagine` binary as a person would (the dependency builds it first);
        // ImageIO writes the terminal tests' screenshots as PNGs for a person to look at.
        .testTarget(name: "CLITests", dependencies: ["imagine", "ImageIO"], swiftSettings: swiftSettings),

        // PNG output. The libpng call sequence lives in C because libpng reports errors by
        // longjmp, which must never cross Swift frames.
        .target(name: "CPNGWriter", dependencies: ["CPNG"], path: "Sources/CPNGWriter"),
        // JPEG input. The libjpeg call sequence lives in C for the same reason: its errors longjmp.
        .target(name: "CJPEGReader", dependencies: ["CJPEG"], path: "Sources/CJPEGReader"),
        // PNG and JPEG files in (as RGB) and PNG out (atomic, with text metadata); knows nothing of models.
        .target(name: "ImageIO", dependencies: ["CPNGWriter", "CPNG", "CJPEGReader"], swiftSettings: swiftSettings),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO", "Kernels"], swiftSettings: swiftSettings),
        // Decoders for kitty, sixel and iTerm2 terminal graphics (test support) and the tests of
        // the presenter that are checked with them.
        .testTarget(name: "TerminalGraphicsTests", dependencies: ["TerminalGraphics", "ImageIO"], swiftSettings: swiftSettings),
    ]
)
